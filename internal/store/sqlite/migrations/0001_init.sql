-- 0001_init: the initial tokengate schema.
--
-- Times are INTEGER unix milliseconds (NULL for "not set"); lists and maps
-- are JSON text (NULL for nil). Tables keyed by text ids are WITHOUT ROWID,
-- so the id is stored once (in the clustered primary key) rather than twice
-- (rowid table plus a unique index): this keeps a session near 300 bytes.

CREATE TABLE tenants (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL DEFAULT '',
    max_sessions         INTEGER NOT NULL DEFAULT 0,
    session_limit_policy TEXT NOT NULL DEFAULT '',
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER
) WITHOUT ROWID;

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    name                 TEXT NOT NULL,
    email                TEXT NOT NULL DEFAULT '',
    display_name         TEXT NOT NULL DEFAULT '',
    password_hash        TEXT NOT NULL DEFAULT '',
    refresh_enabled      INTEGER NOT NULL DEFAULT 0,
    refresh_requested_at INTEGER,
    admin                INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER,
    updated_at           INTEGER,
    UNIQUE (tenant_id, name)
) WITHOUT ROWID;

-- ListUsers(tenantID "") orders every user by name.
CREATE INDEX users_name ON users (name);

CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL DEFAULT '',
    secret_hash BLOB,
    grant_types TEXT,
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER
) WITHOUT ROWID;

CREATE INDEX clients_tenant ON clients (tenant_id);

-- sessions has no foreign key to clients: a session outlives the deletion
-- of the client that created it, and many sessions have no client at all.
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id           TEXT NOT NULL DEFAULT '',
    service             TEXT NOT NULL DEFAULT '',
    policy              TEXT NOT NULL DEFAULT '',
    generation          INTEGER NOT NULL DEFAULT 0,
    rotated_at          INTEGER,
    device_id           TEXT NOT NULL DEFAULT '',
    label               TEXT NOT NULL DEFAULT '',
    created_at          INTEGER,
    last_used_at        INTEGER,
    idle_expires_at     INTEGER,
    absolute_expires_at INTEGER,
    revoked_at          INTEGER,
    revoke_reason       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- A user's sessions oldest first (ListSessions, CountLiveSessions,
-- RevokeUserSessions, the user foreign key). The primary key id is part of
-- every index entry of a WITHOUT ROWID table, so this index also yields the
-- (created_at, id) order.
CREATE INDEX sessions_user ON sessions (user_id, created_at);

-- The time after which a session can be purged: the earliest of its expiries
-- and its revocation. PurgeSessions uses exactly this expression.
CREATE INDEX sessions_purge ON sessions (
    min(ifnull(idle_expires_at, 0), ifnull(absolute_expires_at, 0),
        ifnull(revoked_at, 9223372036854775807))
);

CREATE TABLE signing_keys (
    id             TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    public_key     BLOB,
    private_sealed BLOB,
    created_at     INTEGER,
    active_from    INTEGER,
    retired_at     INTEGER,
    expires_at     INTEGER
) WITHOUT ROWID;

CREATE TABLE organisations (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   INTEGER,
    UNIQUE (tenant_id, name)
) WITHOUT ROWID;

-- Deleting an organisation deletes its removed memberships (DeleteOrganisation
-- refuses while active ones exist).
CREATE TABLE memberships (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channels        TEXT,
    created_at      INTEGER,
    removed_at      INTEGER
) WITHOUT ROWID;

CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_org ON memberships (organisation_id);
-- A user holds at most one active membership of an organisation.
CREATE UNIQUE INDEX memberships_active ON memberships (organisation_id, user_id)
    WHERE removed_at IS NULL;

CREATE TABLE external_identities (
    tenant_id  TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER,
    PRIMARY KEY (tenant_id, issuer, subject)
) WITHOUT ROWID;

CREATE INDEX external_identities_user ON external_identities (user_id);

CREATE TABLE audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    time           INTEGER,
    type           TEXT NOT NULL DEFAULT '',
    tenant_id      TEXT NOT NULL DEFAULT '',
    user_id        TEXT NOT NULL DEFAULT '',
    session_id     TEXT NOT NULL DEFAULT '',
    client_id      TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    remote_addr    TEXT NOT NULL DEFAULT '',
    detail         TEXT
);

CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_user ON audit (user_id, time);

CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
