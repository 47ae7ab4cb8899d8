package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/tokengate/tokengate/internal/store"
)

// ErrMembershipRequired: the caller must name one of its memberships (the
// Whitespace API's "UserID: MU…" header) and did not, or named one it does
// not hold. The proxy writes it as the exact WSAUTH error of the seed.
var ErrMembershipRequired = errors.New("a valid UserID must be supplied")

// ErrUnknownOrganisation: no organisation of that name in the tenant.
var ErrUnknownOrganisation = errors.New("unknown organisation")

// ErrUnknownMembership: no membership with that MU id.
var ErrUnknownMembership = errors.New("unknown membership")

func unknownMembership(id string) error {
	return fmt.Errorf("%w %q", ErrUnknownMembership, id)
}

// MembershipPrefix starts every membership id: "MU" + a UUID.
const MembershipPrefix = "MU"

var (
	membershipIDPattern = regexp.MustCompile(`^MU[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	channelPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)
)

// ValidMembershipID reports whether id has the form MU + UUID.
func ValidMembershipID(id string) bool { return membershipIDPattern.MatchString(id) }

// MemberOf is an active membership with its organisation: what the proxy
// needs to pick the identity it forwards.
type MemberOf struct {
	Membership   store.Membership
	Organisation store.Organisation
}

// CreateOrganisation creates an organisation in a tenant ("" = default).
func (e *Engine) CreateOrganisation(ctx context.Context, tenant, name, displayName string) (store.Organisation, error) {
	if err := checkName("organisation", name); err != nil {
		return store.Organisation{}, err
	}
	t, err := e.Tenant(ctx, tenant)
	if err != nil {
		return store.Organisation{}, err
	}
	o := store.Organisation{ID: e.newID(), TenantID: t.ID, Name: name, DisplayName: displayName, CreatedAt: e.now()}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateOrganisation(ctx, o); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("an organisation named %q %w in tenant %q", name, ErrAlreadyExists, t.Name)
			}
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "organisation.create", TenantID: t.ID, Detail: map[string]string{"name": name}})
	})
	return o, err
}

// Organisation returns the organisation of that name in a tenant.
func (e *Engine) Organisation(ctx context.Context, tenant, name string) (store.Organisation, error) {
	t, err := e.Tenant(ctx, tenant)
	if err != nil {
		return store.Organisation{}, err
	}
	o, err := e.st.GetOrganisationByName(ctx, t.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return o, fmt.Errorf("%w %q in tenant %q", ErrUnknownOrganisation, name, t.Name)
	}
	return o, err
}

// Organisations lists a tenant's organisations by name.
func (e *Engine) Organisations(ctx context.Context, tenant string) ([]store.Organisation, error) {
	t, err := e.Tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return e.st.ListOrganisations(ctx, t.ID)
}

// DeleteOrganisation deletes an organisation that has no active
// membership (ErrInUse otherwise).
func (e *Engine) DeleteOrganisation(ctx context.Context, tenant, name string) error {
	o, err := e.Organisation(ctx, tenant, name)
	if err != nil {
		return err
	}
	return e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteOrganisation(ctx, o.ID); err != nil {
			switch {
			case errors.Is(err, store.ErrConflict):
				return fmt.Errorf("organisation %q is %w: it has active memberships", o.Name, ErrInUse)
			case errors.Is(err, store.ErrNotFound): // deleted meanwhile
				return fmt.Errorf("%w %q", ErrUnknownOrganisation, o.Name)
			}
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "organisation.delete", TenantID: o.TenantID, Detail: map[string]string{"name": o.Name}})
	})
}

// NewMembership describes a membership to add.
type NewMembership struct {
	Tenant       string // tenant name; "" = default
	User         string // user name
	Organisation string // organisation name
	Channels     []string
	// ID, when set, is the MU id to use (loading a known world such as the
	// demo); it must have the MU+UUID form and must never have been used.
	// When empty a random one is generated.
	ID string
}

// AddMembership joins a user to an organisation under a new, never reused
// MU id. A user holds at most one active membership per organisation.
func (e *Engine) AddMembership(ctx context.Context, nm NewMembership) (store.Membership, error) {
	channels, err := cleanChannels(nm.Channels)
	if err != nil {
		return store.Membership{}, err
	}
	u, err := e.User(ctx, nm.Tenant, nm.User)
	if err != nil {
		return store.Membership{}, err
	}
	o, err := e.Organisation(ctx, nm.Tenant, nm.Organisation)
	if err != nil {
		return store.Membership{}, err
	}
	id := nm.ID
	if id == "" {
		v, err := uuid.NewRandomFromReader(e.rand)
		if err != nil {
			return store.Membership{}, err
		}
		id = MembershipPrefix + v.String()
	} else if !ValidMembershipID(id) {
		return store.Membership{}, invalidRequest("membership id: want MU followed by a UUID")
	}
	m := store.Membership{ID: id, TenantID: u.TenantID, OrganisationID: o.ID, UserID: u.ID, Channels: channels, CreatedAt: e.now()}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateMembership(ctx, m); err != nil {
			if errors.Is(err, store.ErrConflict) {
				if nm.ID == "" { // the id is new: only the user and organisation can clash
					return fmt.Errorf("a membership of user %q in %q %w", u.Name, o.Name, ErrAlreadyExists)
				}
				return fmt.Errorf("a membership of user %q in %q, or one with id %s, %w", u.Name, o.Name, id, ErrAlreadyExists)
			}
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "membership.add", TenantID: u.TenantID, UserID: u.ID,
			Detail: map[string]string{"membership": id, "organisation": o.Name, "channels": strings.Join(channels, ",")}})
	})
	return m, err
}

// RemoveMembership ends a membership. Its MU id is kept (removed) and never
// reused. The proxy stops accepting it within its revocation bound. When it
// was the user's last active membership, the user's live sessions are
// revoked in the same transaction, so the next refresh fails and the proxy
// refuses their access tokens within the same bound: a user who belonged to
// organisations and no longer belongs to any keeps no API access. (The
// refresh path itself stays free of membership queries.)
func (e *Engine) RemoveMembership(ctx context.Context, id string) (store.Membership, error) {
	var m store.Membership
	err := e.txLive(ctx, func(q store.Queries, lc liveChange) error {
		var err error
		if m, err = q.GetMembership(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return unknownMembership(id)
			}
			return err
		}
		if !m.RemovedAt.IsZero() {
			return nil
		}
		m.RemovedAt = e.now()
		if err := q.UpdateMembership(ctx, m); err != nil {
			return err
		}
		if err := e.audit(ctx, q, store.AuditEvent{Type: "membership.remove", TenantID: m.TenantID, UserID: m.UserID,
			Detail: map[string]string{"membership": m.ID}}); err != nil {
			return err
		}
		rest, err := q.ListMemberships(ctx, store.MembershipFilter{UserID: m.UserID})
		if err != nil {
			return err
		}
		if len(rest) == 0 {
			var n int
			return e.revokeUser(ctx, q, m.UserID, "membership_removed", &n, lc)
		}
		return nil
	})
	return m, err
}

// SetChannels replaces the channels an active membership grants.
func (e *Engine) SetChannels(ctx context.Context, id string, channels []string) (store.Membership, error) {
	channels, err := cleanChannels(channels)
	if err != nil {
		return store.Membership{}, err
	}
	var m store.Membership
	err = e.st.Tx(ctx, func(q store.Queries) error {
		var err error
		if m, err = q.GetMembership(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return unknownMembership(id)
			}
			return err
		}
		if !m.RemovedAt.IsZero() {
			return fmt.Errorf("%w %q: it was removed", ErrUnknownMembership, id)
		}
		m.Channels = channels
		if err := q.UpdateMembership(ctx, m); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "membership.channels", TenantID: m.TenantID, UserID: m.UserID,
			Detail: map[string]string{"membership": m.ID, "channels": strings.Join(channels, ",")}})
	})
	return m, err
}

// Membership returns a membership by its MU id (removed ones included).
func (e *Engine) Membership(ctx context.Context, id string) (store.Membership, error) {
	m, err := e.st.GetMembership(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return m, unknownMembership(id)
	}
	return m, err
}

// TenantMembership returns the membership with that id when it belongs to
// the tenant of tenantID; one of another tenant is ErrUnknownMembership,
// as a tenant's administrators may not learn of it.
func (e *Engine) TenantMembership(ctx context.Context, tenantID, id string) (store.Membership, error) {
	m, err := e.Membership(ctx, id)
	if err == nil && m.TenantID != tenantID {
		return store.Membership{}, unknownMembership(id)
	}
	return m, err
}

// ActiveMemberships lists a user's active memberships with their
// organisations, oldest first.
func (e *Engine) ActiveMemberships(ctx context.Context, userID string) ([]MemberOf, error) {
	ms, err := e.st.ListMemberships(ctx, store.MembershipFilter{UserID: userID})
	if err != nil {
		return nil, err
	}
	out := make([]MemberOf, 0, len(ms))
	for _, m := range ms {
		o, err := e.st.GetOrganisation(ctx, m.OrganisationID)
		if err != nil {
			return nil, err
		}
		out = append(out, MemberOf{Membership: m, Organisation: o})
	}
	return out, nil
}

// SelectMembership applies the SUMO rule to a user's active memberships
// and the UserID the request sent (empty when none):
//   - no membership: no UserID may be sent; the zero MemberOf is returned;
//   - one membership: UserID is optional, and if sent must be that one;
//   - several: UserID must name one of them.
//
// Anything else is ErrMembershipRequired.
func SelectMembership(ms []MemberOf, userID string) (MemberOf, error) {
	userID = strings.TrimSpace(userID)
	if userID == "" {
		if len(ms) == 1 {
			return ms[0], nil
		}
		if len(ms) == 0 {
			return MemberOf{}, nil
		}
		return MemberOf{}, ErrMembershipRequired
	}
	for _, m := range ms {
		if m.Membership.ID == userID {
			return m, nil
		}
	}
	return MemberOf{}, ErrMembershipRequired
}

// ResolveMembership picks the membership a request acts through, for the
// user of a live session. See SelectMembership for the rules.
func (e *Engine) ResolveMembership(ctx context.Context, userID, userIDHeader string) (store.Membership, store.Organisation, error) {
	ms, err := e.ActiveMemberships(ctx, userID)
	if err != nil {
		return store.Membership{}, store.Organisation{}, err
	}
	m, err := SelectMembership(ms, userIDHeader)
	return m.Membership, m.Organisation, err
}

// DirectoryEntry is one organisation of a tenant's directory with the
// users who belong to it.
type DirectoryEntry struct {
	Organisation store.Organisation
	Members      []DirectoryMember
}

// DirectoryMember is one active membership in the directory.
type DirectoryMember struct {
	MembershipID string
	User         store.User
}

// Directory lists a tenant's organisations and their active members. When
// search is set, only organisations or users whose name, display name,
// e-mail or MU id contain it (case-insensitively) are kept.
func (e *Engine) Directory(ctx context.Context, tenantID, search string) ([]DirectoryEntry, error) {
	orgs, err := e.st.ListOrganisations(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	users, err := e.st.ListUsers(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]store.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	ms, err := e.st.ListMemberships(ctx, store.MembershipFilter{TenantID: tenantID})
	if err != nil {
		return nil, err
	}
	needle := strings.ToLower(strings.TrimSpace(search))
	has := func(fields ...string) bool {
		return slices.ContainsFunc(fields, func(f string) bool { return strings.Contains(strings.ToLower(f), needle) })
	}
	out := make([]DirectoryEntry, 0, len(orgs))
	for _, o := range orgs {
		orgHit := needle == "" || has(o.Name, o.DisplayName)
		d := DirectoryEntry{Organisation: o, Members: []DirectoryMember{}}
		for _, m := range ms {
			u, ok := byID[m.UserID]
			if m.OrganisationID != o.ID || !ok || u.Disabled {
				continue
			}
			if orgHit || has(u.Name, u.DisplayName, u.Email, m.ID) {
				d.Members = append(d.Members, DirectoryMember{MembershipID: m.ID, User: u})
			}
		}
		if orgHit || len(d.Members) > 0 {
			out = append(out, d)
		}
	}
	return out, nil
}

func cleanChannels(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, c := range in {
		c = strings.TrimSpace(c)
		if c == "" || slices.Contains(out, c) {
			continue
		}
		if !channelPattern.MatchString(c) {
			return nil, invalidRequest("channels use letters, digits and . _ @ + -")
		}
		out = append(out, c)
	}
	return out, nil
}
