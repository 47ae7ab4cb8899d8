package engine

import (
	"context"

	"github.com/tokengate/tokengate/internal/store"
)

// Member is a membership with its user and its organisation: one row of a
// membership listing.
type Member struct {
	Membership   store.Membership
	User         store.User
	Organisation store.Organisation
}

// MemberQuery selects the memberships of a tenant for Members. Names are
// resolved in the tenant; an unknown one is ErrUnknownUser or
// ErrUnknownOrganisation.
type MemberQuery struct {
	Tenant         string // tenant name; "" = the default tenant
	User           string // user name; "" = every user
	Organisation   string // organisation name; "" = every organisation
	IncludeRemoved bool
}

// Members lists memberships with their users and organisations.
func (e *Engine) Members(ctx context.Context, q MemberQuery) ([]Member, error) {
	t, err := e.Tenant(ctx, q.Tenant)
	if err != nil {
		return nil, err
	}
	f := store.MembershipFilter{TenantID: t.ID, IncludeRemoved: q.IncludeRemoved}
	if q.User != "" {
		u, err := e.User(ctx, t.Name, q.User)
		if err != nil {
			return nil, err
		}
		f.UserID = u.ID
	}
	if q.Organisation != "" {
		o, err := e.Organisation(ctx, t.Name, q.Organisation)
		if err != nil {
			return nil, err
		}
		f.OrganisationID = o.ID
	}
	ms, err := e.st.ListMemberships(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(ms))
	users := map[string]store.User{}
	orgs := map[string]store.Organisation{}
	for _, m := range ms {
		u, uok := users[m.UserID]
		o, ook := orgs[m.OrganisationID]
		if !uok || !ook {
			mm, err := e.Member(ctx, m)
			if err != nil {
				return nil, err
			}
			u, o = mm.User, mm.Organisation
			users[u.ID], orgs[o.ID] = u, o
		}
		out = append(out, Member{Membership: m, User: u, Organisation: o})
	}
	return out, nil
}

// Member returns m with its user and organisation.
func (e *Engine) Member(ctx context.Context, m store.Membership) (Member, error) {
	u, err := e.st.GetUser(ctx, m.UserID)
	if err != nil {
		return Member{}, userByIDErr(err, m.UserID)
	}
	o, err := e.st.GetOrganisation(ctx, m.OrganisationID)
	if err != nil {
		return Member{}, err
	}
	return Member{Membership: m, User: u, Organisation: o}, nil
}
