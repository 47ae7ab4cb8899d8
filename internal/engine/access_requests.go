package engine

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/tokengate/tokengate/internal/store"
)

// API access is the refresh-enabled flag, which a user asks for on the
// User Profile page with a reason and an administrator grants or denies
// with a note the user then reads. Each request is a record, so the user
// sees what became of it; the user's RefreshRequestedAt mirrors the
// pending one for the CLI's listing.

// ErrUnknownAccessRequest: no access request with that id (for that
// user). It matches ErrInvalidRequest, which every surface maps.
var ErrUnknownAccessRequest error = &Error{Kind: ErrInvalidRequest, Public: "unknown access request"}

// maxReason bounds the words of a request and of a decision.
const maxReason = 500

func cleanReason(what, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", invalidRequest("please say %s", what)
	}
	if utf8.RuneCountInString(s) > maxReason {
		return "", invalidRequest("%s: at most %d characters", what, maxReason)
	}
	return s, nil
}

// RequestAPIAccess records a user's request for API access. A user who has
// API access already, or a pending request, can't ask again.
func (e *Engine) RequestAPIAccess(ctx context.Context, userID, reason string) (store.AccessRequest, error) {
	reason, err := cleanReason("why you need API access", reason, true)
	if err != nil {
		return store.AccessRequest{}, err
	}
	var r store.AccessRequest
	err = e.st.Tx(ctx, func(q store.Queries) error {
		u, err := q.LockUser(ctx, userID)
		if err != nil {
			return userByIDErr(err, userID)
		}
		if u.RefreshEnabled {
			return invalidRequest("API access is already enabled for this login")
		}
		now := e.now()
		r = store.AccessRequest{ID: e.newID(), TenantID: u.TenantID, UserID: u.ID, Reason: reason,
			Status: store.AccessPending, CreatedAt: now}
		if err := q.CreateAccessRequest(ctx, r); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &Error{Kind: ErrAlreadyExists, Public: "you have a pending request for API access already"}
			}
			return err
		}
		u.RefreshRequestedAt, u.UpdatedAt = now, now
		if err := q.UpdateUser(ctx, u); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "access.request", TenantID: u.TenantID, UserID: u.ID,
			Detail: map[string]string{"request": r.ID}})
	})
	return r, err
}

// WithdrawAccessRequest withdraws a user's own pending request.
func (e *Engine) WithdrawAccessRequest(ctx context.Context, userID, id string) (store.AccessRequest, error) {
	return e.closeAccessRequest(ctx, id, func(q store.Queries, r *store.AccessRequest) (store.User, error) {
		if r.UserID != userID {
			return store.User{}, refused(ErrUnknownAccessRequest, "access request "+id)
		}
		r.Status = store.AccessWithdrawn
		return q.LockUser(ctx, r.UserID)
	})
}

// DecideAccessRequest approves or denies a pending request as the
// administrator adminID (of the request's tenant), with a note for the
// user (required for a denial). Approval enables refresh for the user in
// the same transaction.
func (e *Engine) DecideAccessRequest(ctx context.Context, adminID, id string, approve bool, note string) (store.AccessRequest, error) {
	note, err := cleanReason("why the request is denied", note, !approve)
	if err != nil {
		return store.AccessRequest{}, err
	}
	return e.closeAccessRequest(ctx, id, func(q store.Queries, r *store.AccessRequest) (store.User, error) {
		admin, err := q.GetUser(ctx, adminID)
		if err != nil {
			return store.User{}, userByIDErr(err, adminID)
		}
		if !admin.Admin || admin.Disabled || admin.TenantID != r.TenantID {
			return store.User{}, refused(ErrUnknownAccessRequest, "access request "+id)
		}
		r.DecidedBy, r.Note, r.Status = adminID, note, store.AccessDenied
		u, err := q.LockUser(ctx, r.UserID)
		if err != nil {
			return store.User{}, userByIDErr(err, r.UserID)
		}
		if approve {
			r.Status = store.AccessApproved
			u.RefreshEnabled = true
		}
		return u, nil
	})
}

// closeAccessRequest ends a pending request: decide sets its new status
// (and may change the user it returns), then the request and the user are
// written with an audit event, in one transaction.
func (e *Engine) closeAccessRequest(ctx context.Context, id string, decide func(store.Queries, *store.AccessRequest) (store.User, error)) (store.AccessRequest, error) {
	var r store.AccessRequest
	err := e.st.Tx(ctx, func(q store.Queries) error {
		var err error
		if r, err = q.GetAccessRequest(ctx, id); errors.Is(err, store.ErrNotFound) {
			return refused(ErrUnknownAccessRequest, "access request "+id)
		} else if err != nil {
			return err
		}
		if r.Status != store.AccessPending {
			return invalidRequest("this request was already %s", r.Status)
		}
		u, err := decide(q, &r)
		if err != nil {
			return err
		}
		now := e.now()
		r.DecidedAt = now
		if err := q.UpdateAccessRequest(ctx, r); err != nil {
			return err
		}
		u.RefreshRequestedAt, u.UpdatedAt = timeZero, now
		if err := q.UpdateUser(ctx, u); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "access." + string(r.Status), TenantID: r.TenantID, UserID: r.UserID,
			Detail: map[string]string{"request": r.ID, "decided_by": r.DecidedBy}})
	})
	return r, err
}

// AccessRequestQuery selects access requests for AccessRequests.
type AccessRequestQuery struct {
	Tenant string // tenant name; "" = the default tenant
	UserID string // "" = every user of the tenant
	Status store.AccessStatus
	Limit  int
}

// AccessRequests lists access requests, newest first.
func (e *Engine) AccessRequests(ctx context.Context, aq AccessRequestQuery) ([]store.AccessRequest, error) {
	t, err := e.Tenant(ctx, aq.Tenant)
	if err != nil {
		return nil, err
	}
	return e.st.ListAccessRequests(ctx, store.AccessRequestFilter{TenantID: t.ID, UserID: aq.UserID, Status: aq.Status, Limit: aq.Limit})
}
