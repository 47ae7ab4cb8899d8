-- 0001_init: the initial tokengate schema, the same records as SQLite's.
--
-- Times are timestamptz (microseconds; NULL for "not set"); lists are text[]
-- and maps jsonb (NULL for nil). Ids and names are COLLATE "C", so lists
-- come back in byte order, as they do from SQLite, whatever the database's
-- locale. The schema is created in the connection's search_path, so a test
-- (or a second installation) can live in a schema of its own.

CREATE TABLE tenants (
    id                   text COLLATE "C" PRIMARY KEY,
    name                 text COLLATE "C" NOT NULL UNIQUE,
    display_name         text NOT NULL DEFAULT '',
    max_sessions         integer NOT NULL DEFAULT 0,
    session_limit_policy text NOT NULL DEFAULT '',
    disabled             boolean NOT NULL DEFAULT false,
    created_at           timestamptz
);

CREATE TABLE users (
    id                   text COLLATE "C" PRIMARY KEY,
    tenant_id            text COLLATE "C" NOT NULL REFERENCES tenants(id),
    name                 text COLLATE "C" NOT NULL,
    email                text NOT NULL DEFAULT '',
    display_name         text NOT NULL DEFAULT '',
    password_hash        text NOT NULL DEFAULT '',
    refresh_enabled      boolean NOT NULL DEFAULT false,
    refresh_requested_at timestamptz,
    admin                boolean NOT NULL DEFAULT false,
    disabled             boolean NOT NULL DEFAULT false,
    created_at           timestamptz,
    updated_at           timestamptz,
    UNIQUE (tenant_id, name)
);

-- ListUsers(tenantID "") orders every user by name.
CREATE INDEX users_name ON users (name);

CREATE TABLE clients (
    id          text COLLATE "C" PRIMARY KEY,
    tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants(id),
    name        text COLLATE "C" NOT NULL DEFAULT '',
    secret_hash bytea,
    grant_types text[],
    disabled    boolean NOT NULL DEFAULT false,
    created_at  timestamptz
);

CREATE INDEX clients_tenant ON clients (tenant_id);

-- sessions has no foreign key to clients: a session outlives the deletion
-- of the client that created it, and many sessions have no client at all.
--
-- Every refresh rewrites its session's row. No index covers a column a
-- refresh changes (generation, rotated_at, last_used_at, idle_expires_at), so
-- the new row version is a HOT update on the same page, with no new index
-- entries; fillfactor leaves the room for it. That is also why there is no
-- index for PurgeSessions: its condition involves idle_expires_at, and a
-- background purge scanning the table is cheaper than every refresh writing
-- three index entries.
CREATE TABLE sessions (
    id                  text COLLATE "C" PRIMARY KEY,
    tenant_id           text COLLATE "C" NOT NULL,
    user_id             text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id           text NOT NULL DEFAULT '',
    service             text NOT NULL DEFAULT '',
    policy              text NOT NULL DEFAULT '',
    generation          bigint NOT NULL DEFAULT 0,
    rotated_at          timestamptz,
    device_id           text NOT NULL DEFAULT '',
    label               text NOT NULL DEFAULT '',
    created_at          timestamptz,
    last_used_at        timestamptz,
    idle_expires_at     timestamptz,
    absolute_expires_at timestamptz,
    revoked_at          timestamptz,
    revoke_reason       text NOT NULL DEFAULT ''
) WITH (fillfactor = 80);

-- A user's sessions oldest first (ListSessions, CountLiveSessions,
-- RevokeUserSessions, the user foreign key).
CREATE INDEX sessions_user ON sessions (user_id, created_at, id);
-- A tenant's sessions oldest first, and every session (ListSessions).
CREATE INDEX sessions_tenant ON sessions (tenant_id, created_at, id);

CREATE TABLE signing_keys (
    id             text COLLATE "C" PRIMARY KEY,
    alg            text NOT NULL,
    public_key     bytea,
    private_sealed bytea,
    created_at     timestamptz,
    active_from    timestamptz,
    retired_at     timestamptz,
    expires_at     timestamptz
);

CREATE TABLE organisations (
    id           text COLLATE "C" PRIMARY KEY,
    tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants(id),
    name         text COLLATE "C" NOT NULL,
    display_name text NOT NULL DEFAULT '',
    created_at   timestamptz,
    UNIQUE (tenant_id, name)
);

-- Deleting an organisation deletes its removed memberships (DeleteOrganisation
-- refuses while active ones exist).
CREATE TABLE memberships (
    id              text COLLATE "C" PRIMARY KEY,
    tenant_id       text COLLATE "C" NOT NULL,
    organisation_id text COLLATE "C" NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    user_id         text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channels        text[],
    created_at      timestamptz,
    removed_at      timestamptz
);

CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_org ON memberships (organisation_id);
-- A user holds at most one active membership of an organisation.
CREATE UNIQUE INDEX memberships_active ON memberships (organisation_id, user_id)
    WHERE removed_at IS NULL;

CREATE TABLE external_identities (
    tenant_id  text COLLATE "C" NOT NULL,
    issuer     text COLLATE "C" NOT NULL,
    subject    text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz,
    PRIMARY KEY (tenant_id, issuer, subject)
);

CREATE INDEX external_identities_user ON external_identities (user_id);

CREATE TABLE audit (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time           timestamptz,
    type           text NOT NULL DEFAULT '',
    tenant_id      text NOT NULL DEFAULT '',
    user_id        text NOT NULL DEFAULT '',
    session_id     text NOT NULL DEFAULT '',
    client_id      text NOT NULL DEFAULT '',
    correlation_id text NOT NULL DEFAULT '',
    remote_addr    text NOT NULL DEFAULT '',
    detail         jsonb
);

CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_user ON audit (user_id, time);

CREATE TABLE meta (
    name  text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);
