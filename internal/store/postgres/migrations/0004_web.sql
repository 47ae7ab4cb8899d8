-- 0004_web: the web UI's browser sessions and API access requests, and
-- the audit index its filtered, paged log uses (as SQLite's 0004_web).

-- A browser session is found by the SHA-256 of its cookie's token
-- (token_hash); id is the handle listings and revocation use.
CREATE TABLE browser_sessions (
    id                  text COLLATE "C" PRIMARY KEY,
    token_hash          bytea NOT NULL UNIQUE,
    tenant_id           text COLLATE "C" NOT NULL,
    user_id             text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_method         text NOT NULL DEFAULT '',
    auth_time           timestamptz,
    password_at         timestamptz,
    remote_addr         text NOT NULL DEFAULT '',
    user_agent          text NOT NULL DEFAULT '',
    created_at          timestamptz,
    last_seen_at        timestamptz,
    idle_expires_at     timestamptz,
    absolute_expires_at timestamptz,
    revoked_at          timestamptz,
    revoke_reason       text NOT NULL DEFAULT ''
);

CREATE INDEX browser_sessions_user ON browser_sessions (user_id, created_at);

CREATE TABLE access_requests (
    id         text COLLATE "C" PRIMARY KEY,
    tenant_id  text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason     text NOT NULL DEFAULT '',
    status     text NOT NULL,
    created_at timestamptz,
    decided_at timestamptz,
    decided_by text NOT NULL DEFAULT '',
    note       text NOT NULL DEFAULT ''
);

CREATE INDEX access_requests_user ON access_requests (user_id, created_at);
CREATE INDEX access_requests_tenant ON access_requests (tenant_id, status, created_at);
-- A user has at most one pending request.
CREATE UNIQUE INDEX access_requests_pending ON access_requests (user_id) WHERE status = 'pending';

-- The audit page filters by event type within a tenant, newest first.
CREATE INDEX audit_type ON audit (type, time);
