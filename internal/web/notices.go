package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/tokengate/tokengate/internal/engine"
)

// notices are the messages a page shows after a POST-redirect-GET: the
// redirect names one by key (?done=), so no text of a request is ever
// echoed into a page.
var notices = map[string]string{
	"signed-out":        "You are signed out.",
	"signed-out-all":    "You are signed out everywhere. Your API tokens still work; revoke them one by one if you need to.",
	"token-revoked":     "The API token was revoked. It no longer works.",
	"session-revoked":   "The session was ended.",
	"consent-revoked":   "Your consent was withdrawn; the application will have to ask you again.",
	"browser-ended":     "That browser was signed out.",
	"requested":         "Your request for API access was sent to the administrators.",
	"withdrawn":         "Your request was withdrawn.",
	"approved":          "The request was approved: the user now has API access.",
	"denied":            "The request was denied. The user sees your reason.",
	"user-created":      "The user was created.",
	"user-updated":      "The user was updated.",
	"password-reset":    "The password was changed. The user's sessions and browsers were signed out.",
	"member-added":      "The membership was added.",
	"member-removed":    "The membership was removed. Its MU id is never reused.",
	"channels-set":      "The channels were changed.",
	"org-created":       "The organisation was created.",
	"org-deleted":       "The organisation was deleted.",
	"client-updated":    "The client was updated.",
	"key-revoked":       "The key was revoked: it is out of the JWKS and no token it signed is accepted.",
	"key-rotated":       "A new signing key was created. It is published now and signs after the publish lead.",
	"tenant-created":    "The tenant was created.",
	"tenant-updated":    "The session limit was changed.",
	"sessions-revoked":  "The user's sessions were ended.",
	"password-required": "Please confirm your password to create an API token.",
}

func noticeFor(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

// done redirects to path with a notice (POST-redirect-GET).
func done(w http.ResponseWriter, r *http.Request, path, notice string) {
	if notice != "" {
		path += "?done=" + url.QueryEscape(notice)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func itoa(n int) string { return strconv.Itoa(n) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// confirmView is the data of the confirmation page.
type confirmView struct {
	Question string
	Detail   string
	Button   string
	Action   string
	Fields   []field
	Cancel   string
}

type field struct{ Name, Value string }

// confirmed reports whether a destructive form was confirmed. When it was
// not, it shows the confirmation page, which posts the same form again
// with confirm=yes; nothing has changed yet.
func (h *Handler) confirmed(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, question, detail, button string) bool {
	if r.PostForm.Get("confirm") == "yes" {
		return true
	}
	var fields []field
	for k, vs := range r.PostForm {
		if k == "csrf" || k == "confirm" || k == "password" {
			continue
		}
		for _, v := range vs {
			fields = append(fields, field{k, v})
		}
	}
	h.render(w, r, http.StatusOK, "confirm", view{Title: "Please confirm", principal: p,
		Data: confirmView{Question: question, Detail: detail, Button: button, Action: r.URL.Path, Fields: fields, Cancel: backFor(r.URL.Path)}})
	return false
}
