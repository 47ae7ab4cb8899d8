// Package store holds tokengate's domain records, the Store contract every
// backend implements, and the sentinel errors backends return.
//
// Backends live in their own packages (sqlite, postgres) and prove their
// conformance by running the shared suite in package storetest. Records are
// plain values: a backend never interprets them beyond what its queries need,
// and all rules (expiry, rotation, limits) belong to the engine.
//
// Times are stored with at least millisecond precision and returned in UTC.
// A zero time.Time means "not set" and is stored as NULL.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Backends wrap them with %w; callers match with errors.Is.
var (
	// ErrNotFound is returned when the requested record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a create or update would violate a
	// uniqueness constraint (a duplicate name or id).
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable is returned when the database can't do what was asked
	// for now, and nothing was done: it is read-only, out of space, failing
	// I/O, locked by someone else past the wait, or out of reach (refused,
	// reset or timed-out connections, a server shutting down). It is
	// transient: the same call may succeed once the database is back, so
	// it must never be taken for a missing record or a refused token.
	//
	// ErrUnavailable also matches, with errors.Is, any error that wraps it
	// itself: the engine's ErrUnavailable does, so the layers above match
	// the engine's sentinel and never the store's (docs/ARCHITECTURE.md,
	// rule 4), however the engine passed the store's error on.
	ErrUnavailable error = unavailable{}
)

// unavailable is ErrUnavailable's type.
type unavailable struct{}

func (unavailable) Error() string { return "store: unavailable" }

// Is reports whether target is a sentinel that stands for ErrUnavailable:
// one that wraps it. (ErrUnavailable itself errors.Is matches by equality
// before asking.)
func (unavailable) Is(target error) bool {
	if _, self := target.(unavailable); self || target == nil {
		return false
	}
	return errors.Is(target, ErrUnavailable)
}

// Unavailable wraps err, a backend's failure, as ErrUnavailable with the
// backend's words for the logs ("store: unavailable: sqlite: database is
// locked"); it returns err as it is when it already is ErrUnavailable, and
// nil for nil.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// LimitPolicy says what happens when a user already holds the tenant's
// maximum number of live sessions and signs on again.
type LimitPolicy string

const (
	// LimitReject refuses the new sign-on.
	LimitReject LimitPolicy = "reject"
	// LimitEndOldest revokes the user's oldest live session(s) to make room.
	LimitEndOldest LimitPolicy = "end_oldest"
)

// RefreshPolicy is the refresh-token behaviour of a session.
type RefreshPolicy string

const (
	// PolicyNone marks a session that holds no refresh token (its user is not
	// refresh-enabled); it lives as long as its access token.
	PolicyNone RefreshPolicy = "none"
	// PolicyRotating replaces the refresh token at every refresh; presenting
	// a superseded token is reuse and revokes the family.
	PolicyRotating RefreshPolicy = "rotating"
	// PolicyStable keeps the same refresh token valid until it expires or is
	// revoked.
	PolicyStable RefreshPolicy = "stable"
)

// Tenant is the top of the model: users, clients, organisations and
// sessions all belong to exactly one tenant.
type Tenant struct {
	ID          string
	Name        string // unique slug used on the wire (nv-tenant-id, --tenant)
	DisplayName string
	// MaxSessions is the maximum number of live sessions per user; 0 means
	// no limit.
	MaxSessions        int
	SessionLimitPolicy LimitPolicy
	Disabled           bool
	CreatedAt          time.Time
}

// User is an account that signs on. A user may hold several memberships.
type User struct {
	ID          string
	TenantID    string
	Name        string // unique within the tenant
	Email       string
	DisplayName string
	// PasswordHash is a PHC-formatted argon2id hash; empty for users who
	// sign on only through an external identity provider.
	PasswordHash string
	// RefreshEnabled lets sign-ons of this user receive refresh tokens.
	RefreshEnabled bool
	// RefreshRequestedAt is when the user asked for refresh to be enabled
	// (zero when there is no pending request).
	RefreshRequestedAt time.Time
	Admin              bool
	Disabled           bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Client is an OAuth 2.0 client. A client without a SecretHash is public.
type Client struct {
	ID       string // the client_id, unique across tenants
	TenantID string
	Name     string
	// SecretHash is the SHA-256 of the client secret (secrets are
	// high-entropy and machine-generated, so a fast hash suffices); nil for
	// public clients.
	SecretHash []byte
	// GrantTypes lists the grant types the client may use.
	GrantTypes []string
	Disabled   bool
	CreatedAt  time.Time
	// PreviousSecretHash is the SHA-256 of the secret before the last
	// rotation, still accepted until PreviousSecretExpiresAt (the overlap
	// that lets a client's deployments switch over); nil when none.
	PreviousSecretHash      []byte
	PreviousSecretExpiresAt time.Time
	// RedirectURIs are the registered redirect URIs of the authorization
	// code flow, compared exactly (RFC 9700 §2.1: no patterns).
	RedirectURIs []string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser back to, compared exactly.
	PostLogoutRedirectURIs []string
	// Scopes are the scopes the client may ask for at the authorization
	// endpoint.
	Scopes []string
	// FirstParty marks a client of the gateway's own operator: its users
	// are not asked for consent.
	FirstParty bool
}

// AuthMethod says how the user of a session proved who they are when the
// session was created (its CreatedAt is that authentication's time, OIDC's
// auth_time).
type AuthMethod string

const (
	// AuthPassword: the user's password.
	AuthPassword AuthMethod = "password"
	// AuthExternal: a token of an external OIDC/Auth0 issuer.
	AuthExternal AuthMethod = "external"
	// AuthAPIToken: the session is an API token, created by its user from
	// another session or by an administrator.
	AuthAPIToken AuthMethod = "apitoken"
)

// Session is one refresh-token family, created at sign-on.
type Session struct {
	ID       string
	TenantID string
	UserID   string
	ClientID string
	// Service names the sign-on service that created the session (for
	// example "oauth2", "core", "ags:password" or "apitoken").
	Service string
	Policy  RefreshPolicy
	// Generation counts refreshes under the rotating policy; the refresh
	// token of generation N is superseded once Generation is N+1.
	Generation int64
	// RotatedAt is when Generation last advanced; the grace window for the
	// immediately previous token is measured from it.
	RotatedAt time.Time
	DeviceID  string
	// Label names API refresh tokens created from the profile page or CLI.
	Label string
	// AuthMethod is how the session's user authenticated at CreatedAt;
	// empty for sessions of unknown origin (older ones, seeded ones).
	AuthMethod        AuthMethod
	CreatedAt         time.Time
	LastUsedAt        time.Time
	IdleExpiresAt     time.Time // sliding, renewed at each refresh
	AbsoluteExpiresAt time.Time // fixed at sign-on, never extended
	RevokedAt         time.Time // zero while not revoked
	RevokeReason      string
	// BrowserSessionID is the browser sign-in whose authorization code
	// started the session (empty for every other sign-on): its logout may
	// end the session too.
	BrowserSessionID string
}

// Live reports whether the session is neither revoked nor expired at now.
func (s *Session) Live(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.IdleExpiresAt) && now.Before(s.AbsoluteExpiresAt)
}

// SigningKey is one asymmetric key of the key ring.
type SigningKey struct {
	ID  string // the JWS kid
	Alg string // EdDSA, ES256 or RS256
	// Public is the PKIX DER encoding of the public key.
	Public []byte
	// PrivateSealed is the PKCS#8 private key sealed with the master key.
	PrivateSealed []byte
	CreatedAt     time.Time
	// ActiveFrom is when the key starts signing; it is published in JWKS
	// from CreatedAt on.
	ActiveFrom time.Time
	// RetiredAt is when a newer key took over signing (zero while current).
	RetiredAt time.Time
	// ExpiresAt is when the last token this key signed expires; the public
	// key leaves the JWKS after it. Zero while the key may still sign.
	ExpiresAt time.Time
	// RevokedAt is when the key was revoked (zero while it is not): a
	// revoked key neither signs nor verifies nor is published, and its
	// record is kept until ExpiresAt so that listings show it.
	RevokedAt time.Time
}

// Organisation belongs to a tenant and groups memberships.
type Organisation struct {
	ID          string
	TenantID    string
	Name        string // unique slug within the tenant, e.g. "gailbkr"
	DisplayName string
	CreatedAt   time.Time
}

// Membership joins a user to an organisation. Its ID has the form
// "MU" + UUID, is persistent and is never reused, even after removal.
type Membership struct {
	ID             string
	TenantID       string
	OrganisationID string
	UserID         string
	Channels       []string
	CreatedAt      time.Time
	RemovedAt      time.Time // zero while active
}

// ExternalIdentity links a subject of an external OIDC issuer to a local user.
type ExternalIdentity struct {
	TenantID  string
	Issuer    string
	Subject   string
	UserID    string
	CreatedAt time.Time
}

// AuditEvent records a security-relevant action. Detail never carries
// secrets.
type AuditEvent struct {
	ID            int64 // assigned by the store
	Time          time.Time
	Type          string // e.g. "signon", "signon.failed", "refresh.reuse", "session.revoke"
	TenantID      string
	UserID        string
	SessionID     string
	ClientID      string
	CorrelationID string
	RemoteAddr    string
	Detail        map[string]string
}

// BrowserSession is a signed-in web browser (the web UI's session). The
// browser holds an opaque random token in a cookie; the store keeps only
// its SHA-256 (TokenHash), so a copy of the database signs no one in.
//
// AuthTime and AuthMethod say when and how the user authenticated to start
// it, and PasswordAt when they last proved their password in it (at
// sign-in or when asked again): an authorization endpoint honours
// max_age and prompt=login from them, and recent-password rules read
// PasswordAt.
type BrowserSession struct {
	ID        string // a public handle for listings and revocation
	TokenHash []byte // SHA-256 of the cookie's token; unique
	TenantID  string
	UserID    string
	// AuthMethod is "password" or "oidc:" followed by the issuer's id.
	AuthMethod        string
	AuthTime          time.Time
	PasswordAt        time.Time // zero when no password was ever given in it
	RemoteAddr        string
	UserAgent         string
	CreatedAt         time.Time
	LastSeenAt        time.Time
	IdleExpiresAt     time.Time // sliding, renewed as the browser is used
	AbsoluteExpiresAt time.Time // fixed at sign-in
	RevokedAt         time.Time
	RevokeReason      string
}

// Live reports whether the browser session is neither ended nor expired
// at now.
func (b *BrowserSession) Live(now time.Time) bool {
	return b.RevokedAt.IsZero() && now.Before(b.IdleExpiresAt) && now.Before(b.AbsoluteExpiresAt)
}

// BrowserSessionFilter selects browser sessions. Empty fields do not filter.
type BrowserSessionFilter struct {
	TenantID string
	UserID   string
	LiveAt   time.Time // when set, only sessions live at that time
}

// AuthCode is an OAuth 2.0 authorization code (RFC 6749 §4.1.2): short
// lived, used once, bound to its client, redirect URI, PKCE challenge,
// nonce and the browser sign-in that approved it. The store keeps only the
// SHA-256 of the code (Hash).
type AuthCode struct {
	Hash             []byte
	TenantID         string
	ClientID         string
	UserID           string
	BrowserSessionID string
	RedirectURI      string
	Scope            string // the granted scopes, space-separated
	Nonce            string
	// CodeChallenge is the S256 PKCE challenge (RFC 7636 §4.2); empty when
	// the client sent none (a confidential client may).
	CodeChallenge string
	AuthTime      time.Time // when the user authenticated (OIDC auth_time)
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time // zero until redeemed
	// SessionID is the session the redemption started, which a replay
	// revokes (RFC 6749 §4.1.2).
	SessionID string
}

// Consent is what a user allowed a third-party client: the scopes, until
// the user revokes it.
type Consent struct {
	TenantID  string
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AccessStatus is the state of an API access request.
type AccessStatus string

// The states of an access request: pending until an administrator approves
// or denies it or its user withdraws it.
const (
	AccessPending   AccessStatus = "pending"
	AccessApproved  AccessStatus = "approved"
	AccessDenied    AccessStatus = "denied"
	AccessWithdrawn AccessStatus = "withdrawn"
)

// AccessRequest is a user's request for API access (the refresh-enabled
// flag), with the administrator's decision. A user has at most one pending
// request.
type AccessRequest struct {
	ID        string
	TenantID  string
	UserID    string
	Reason    string // the user's words
	Status    AccessStatus
	CreatedAt time.Time
	DecidedAt time.Time // zero while pending
	// DecidedBy is the id of the administrator who approved or denied it
	// (empty for a withdrawal).
	DecidedBy string
	Note      string // the administrator's words to the user
}

// AccessRequestFilter selects access requests, newest first. Empty fields
// do not filter.
type AccessRequestFilter struct {
	TenantID string
	UserID   string
	Status   AccessStatus
	Limit    int // 0 means no limit
}

// FailureRecord counts the failed sign-ons under one key (an account or a
// client address, named by the engine) since the run of failures began.
// The engine throttles password guessing with them; they hold no secret
// and nothing a client sent beyond a valid user name.
type FailureRecord struct {
	Key   string
	Count int
	// First is when the current run of failures began, Last the latest
	// failure of it.
	First time.Time
	Last  time.Time
}

// SessionFilter selects sessions. Empty fields do not filter.
type SessionFilter struct {
	TenantID string
	UserID   string
	// LiveAt, when set, keeps only sessions live at that time.
	LiveAt time.Time
	// Labelled keeps only sessions with a non-empty Label (API tokens).
	Labelled bool
	Limit    int // 0 means no limit
}

// MembershipFilter selects memberships. Empty fields do not filter.
type MembershipFilter struct {
	TenantID       string
	UserID         string
	OrganisationID string
	IncludeRemoved bool
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	TenantID      string
	UserID        string
	SessionID     string
	Type          string
	CorrelationID string
	// Since and Until, when set, keep events with Since <= Time < Until.
	Since, Until time.Time
	// Before, when its ID is set, keeps only events listed after it in the
	// newest-first order: older than its Time, or of the same Time with a
	// smaller ID. It pages through a long log without offsets.
	Before AuditCursor
	Limit  int // 0 means no limit
}

// AuditCursor is the position of one event in the newest-first order.
type AuditCursor struct {
	Time time.Time
	ID   int64
}

// Queries is every read and write a backend offers. Store runs them
// directly; Tx runs them inside one transaction.
type Queries interface {
	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	GetTenantByName(ctx context.Context, name string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	UpdateTenant(ctx context.Context, t Tenant) error
	// DeleteTenant deletes a tenant and everything it owns (its users with
	// their sessions, memberships and external identities, its clients and
	// organisations), all or nothing. Audit events are history and stay.
	DeleteTenant(ctx context.Context, id string) error

	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByName(ctx context.Context, tenantID, name string) (User, error)
	// ListUsers lists a tenant's users by name; tenantID "" lists all.
	ListUsers(ctx context.Context, tenantID string) ([]User, error)
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser deletes a user with its sessions, memberships and external
	// identities. Audit events keep naming the user's id.
	DeleteUser(ctx context.Context, id string) error
	// LockUser serialises transactions that act on one user (sign-on under
	// a session limit) and returns the user as it is under the lock.
	// Outside a transaction it is GetUser.
	LockUser(ctx context.Context, id string) (User, error)

	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context, tenantID string) ([]Client, error)
	UpdateClient(ctx context.Context, c Client) error
	DeleteClient(ctx context.Context, id string) error

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	// GetSessionForUpdate reads a session and, inside a transaction, locks
	// it until commit so that concurrent refreshes of one family serialise.
	GetSessionForUpdate(ctx context.Context, id string) (Session, error)
	UpdateSession(ctx context.Context, s Session) error
	// ListSessions lists sessions oldest first.
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, error)
	CountLiveSessions(ctx context.Context, userID string, now time.Time) (int, error)
	// CountLiveSessionsByTenant counts the sessions live at now of every
	// tenant, by tenant id; a tenant without live sessions is absent.
	CountLiveSessionsByTenant(ctx context.Context, now time.Time) (map[string]int, error)
	// RevokeUserSessions revokes every live session of a user and returns
	// how many it revoked.
	RevokeUserSessions(ctx context.Context, userID string, at time.Time, reason string) (int, error)
	// RevokeClientSessions revokes every live session issued to a client
	// (of any user) and returns how many it revoked.
	RevokeClientSessions(ctx context.Context, clientID string, at time.Time, reason string) (int, error)
	// PurgeSessions deletes at most limit sessions that expired or were
	// revoked before the given time, and returns how many it deleted.
	PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error)

	CreateKey(ctx context.Context, k SigningKey) error
	// ListKeys lists keys oldest first.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	UpdateKey(ctx context.Context, k SigningKey) error
	DeleteKey(ctx context.Context, id string) error

	CreateOrganisation(ctx context.Context, o Organisation) error
	GetOrganisation(ctx context.Context, id string) (Organisation, error)
	GetOrganisationByName(ctx context.Context, tenantID, name string) (Organisation, error)
	ListOrganisations(ctx context.Context, tenantID string) ([]Organisation, error)
	DeleteOrganisation(ctx context.Context, id string) error

	CreateMembership(ctx context.Context, m Membership) error
	GetMembership(ctx context.Context, id string) (Membership, error)
	ListMemberships(ctx context.Context, f MembershipFilter) ([]Membership, error)
	UpdateMembership(ctx context.Context, m Membership) error

	// CreateExternalIdentity links an identity; ErrConflict when the
	// (tenant, issuer, subject) is linked already, ErrNotFound when the
	// user does not exist.
	CreateExternalIdentity(ctx context.Context, x ExternalIdentity) error
	GetExternalIdentity(ctx context.Context, tenantID, issuer, subject string) (ExternalIdentity, error)

	CreateBrowserSession(ctx context.Context, b BrowserSession) error
	GetBrowserSession(ctx context.Context, id string) (BrowserSession, error)
	// GetBrowserSessionByToken finds a browser session by its TokenHash.
	GetBrowserSessionByToken(ctx context.Context, tokenHash []byte) (BrowserSession, error)
	UpdateBrowserSession(ctx context.Context, b BrowserSession) error
	// ListBrowserSessions lists browser sessions oldest first.
	ListBrowserSessions(ctx context.Context, f BrowserSessionFilter) ([]BrowserSession, error)
	// RevokeUserBrowserSessions ends every live browser session of a user
	// and returns how many it ended.
	RevokeUserBrowserSessions(ctx context.Context, userID string, at time.Time, reason string) (int, error)
	// PurgeBrowserSessions deletes at most limit browser sessions that
	// expired or ended before the given time and returns how many.
	PurgeBrowserSessions(ctx context.Context, before time.Time, limit int) (int, error)

	// RevokeBrowserSessionSessions revokes every live session started by
	// an authorization code of the browser session browserID and returns
	// how many it revoked.
	RevokeBrowserSessionSessions(ctx context.Context, browserID string, at time.Time, reason string) (int, error)

	// CreateAuthCode stores a new code; ErrConflict for a hash stored
	// already, ErrNotFound when its client or user does not exist.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// GetAuthCodeForUpdate reads a code by its hash and, inside a
	// transaction, locks it until commit, so that two redemptions of one
	// code serialise and the second sees the first's UsedAt.
	GetAuthCodeForUpdate(ctx context.Context, hash []byte) (AuthCode, error)
	UpdateAuthCode(ctx context.Context, c AuthCode) error
	// PurgeAuthCodes deletes at most limit codes that expired before the
	// given time and returns how many it deleted.
	PurgeAuthCodes(ctx context.Context, before time.Time, limit int) (int, error)

	// PutConsent creates or replaces the consent of (UserID, ClientID);
	// ErrNotFound when the user or the client does not exist.
	PutConsent(ctx context.Context, c Consent) error
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	// ListConsents lists a user's consents by client id.
	ListConsents(ctx context.Context, userID string) ([]Consent, error)
	DeleteConsent(ctx context.Context, userID, clientID string) error

	// CreateAccessRequest returns ErrConflict when the user already has a
	// pending request.
	CreateAccessRequest(ctx context.Context, r AccessRequest) error
	GetAccessRequest(ctx context.Context, id string) (AccessRequest, error)
	UpdateAccessRequest(ctx context.Context, r AccessRequest) error
	ListAccessRequests(ctx context.Context, f AccessRequestFilter) ([]AccessRequest, error)

	AppendAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// PurgeAudit deletes at most limit events older than before, oldest
	// first, and returns how many it deleted.
	PurgeAudit(ctx context.Context, before time.Time, limit int) (int, error)

	// GetFailures returns the records of those keys that have one, in no
	// particular order.
	GetFailures(ctx context.Context, keys ...string) ([]FailureRecord, error)
	// RecordFailure counts one failure at time at under key, atomically
	// (concurrent calls on any node each count), and returns the record as
	// it is after. A record whose Last is before restartBefore starts a new
	// run: Count 1, First at.
	RecordFailure(ctx context.Context, key string, at, restartBefore time.Time) (FailureRecord, error)
	// ClearFailures deletes the record of key; a missing one is no error.
	ClearFailures(ctx context.Context, key string) error
	// PurgeFailures deletes at most limit records whose Last is before
	// before, and returns how many it deleted.
	PurgeFailures(ctx context.Context, before time.Time, limit int) (int, error)

	// GetMeta and SetMeta keep small named values (schema facts, install
	// state). GetMeta returns ErrNotFound for an unknown name.
	GetMeta(ctx context.Context, name string) (string, error)
	SetMeta(ctx context.Context, name, value string) error
}

// Store is a backend. Tx runs fn in one transaction: it commits when fn
// returns nil and rolls back otherwise, so a refresh or a sign-on is written
// whole or not at all.
type Store interface {
	Queries
	Tx(ctx context.Context, fn func(q Queries) error) error
	Ping(ctx context.Context) error
	// Heartbeat proves the store can write, not only answer: it commits a
	// one-row write (the heartbeat table), as cheap as a write gets. When
	// the database can't write now its error is ErrUnavailable.
	Heartbeat(ctx context.Context) error
	Close() error
}

// ChangeKind is the kind of record a Change names.
type ChangeKind string

// The kinds of Change.
const (
	// ChangeSession: the session ID was revoked.
	ChangeSession ChangeKind = "session"
	// ChangeUser: the user ID was disabled, enabled or deleted.
	ChangeUser ChangeKind = "user"
	// ChangeClient: the client ID was changed or deleted.
	ChangeClient ChangeKind = "client"
	// ChangeTenant: the tenant ID was changed or deleted.
	ChangeTenant ChangeKind = "tenant"
	// ChangeMembership: a membership of the user ID was added, changed or
	// removed.
	ChangeMembership ChangeKind = "membership"
	// ChangeKeys: the signing keys changed (ID is empty).
	ChangeKeys ChangeKind = "keys"
	// ChangeMissed: changes may have been committed that the listener was
	// not told of (it has just started listening, or listens again after
	// its connection failed); whatever a cache holds must be re-checked.
	ChangeMissed ChangeKind = "missed"
)

// Change names a committed change that caches of the records it touched
// must not outlive: what a node remembers of a session's liveness, a
// client, a user's memberships, the key ring.
type Change struct {
	Kind ChangeKind
	ID   string
}

// Notifier is implemented by a backend that several processes share (the
// PostgreSQL store): it tells each of them of the changes any of them
// commits. A backend without it (SQLite, one node) leaves the caches to
// their periodic re-check.
type Notifier interface {
	// Listen calls fn with each Change committed by any process sharing
	// the store, in commit order, until ctx ends (it returns nil then) or
	// its connection fails (it returns the error; call it again). Once it
	// listens it calls fn with ChangeMissed. fn runs on Listen's goroutine
	// and must not block for long.
	Listen(ctx context.Context, fn func(Change)) error
}

// Locker is implemented by a backend that several processes share: a named
// lock that at most one of them holds at a time, for background work that
// one node is enough to do (the purges).
type Locker interface {
	// TryLock takes the lock name if no process holds it, without waiting:
	// ok is false when another holds it. release frees it; a process that
	// dies or loses its connection frees its locks.
	TryLock(ctx context.Context, name string) (release func(), ok bool, err error)
}
