package proxy

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/httpx"
)

// corporateOrg is one organisation of GET {api}/shared/corporate.
type corporateOrg struct {
	Organisation string          `json:"organisation"`
	Name         string          `json:"name"`
	Users        []corporateUser `json:"users"`
}

type corporateUser struct {
	UserID   string `json:"UserID"` // the MU id to send as the UserID header
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
}

// corporate answers the tenant's directory: organisations and their users
// with MU ids, filtered by ?search=. It needs a token but no UserID, since
// it is where a SUMO user finds the MU id to send.
func (p *Proxy) corporate(w http.ResponseWriter, r *http.Request, rt *route, id Identity) {
	dir, err := p.directory(r.Context(), id, r.URL.Query().Get("search"))
	if err != nil {
		writeError(w, r, p.log, rt.cfg.Errors, err)
		return
	}
	out := make([]corporateOrg, 0, len(dir))
	for _, d := range dir {
		o := corporateOrg{Organisation: d.Organisation.Name, Name: d.Organisation.DisplayName, Users: []corporateUser{}}
		for _, m := range d.Members {
			o.Users = append(o.Users, corporateUser{UserID: m.MembershipID, Username: m.User.Name, Name: m.User.DisplayName, Email: m.User.Email})
		}
		out = append(out, o)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, out)
}

// myDetails is GET {api}/user/myDetails.
type myDetails struct {
	UserID           *string  `json:"UserID"` // MU id; null for a user without memberships
	Username         string   `json:"username"`
	Name             string   `json:"name"`
	Email            string   `json:"email,omitempty"`
	Tenant           string   `json:"tenant"`
	Organisation     *string  `json:"organisation"`
	OrganisationName string   `json:"organisationName,omitempty"`
	Channels         []string `json:"channels"`
}

// myDetails answers the caller's user, selected organisation, MU id and
// channels. Membership selection already ran, so a SUMO user without a
// valid UserID never gets here.
func (p *Proxy) myDetails(w http.ResponseWriter, r *http.Request, rt *route, id Identity) {
	u, err := p.eng.UserByID(r.Context(), id.UserID)
	if err != nil {
		writeError(w, r, p.log, rt.cfg.Errors, err)
		return
	}
	d := myDetails{Username: u.Name, Name: u.DisplayName, Email: u.Email, Tenant: id.Tenant, Channels: []string{}}
	if m := id.Member; m.Membership.ID != "" {
		d.UserID, d.Organisation = &m.Membership.ID, &m.Organisation.Name
		d.OrganisationName = m.Organisation.DisplayName
		d.Channels = append(d.Channels, m.Membership.Channels...)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, d)
}
