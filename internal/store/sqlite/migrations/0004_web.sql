-- 0004_web: the web UI's browser sessions and API access requests, and
-- the audit index its filtered, paged log uses.

-- A browser session is found by the SHA-256 of its cookie's token
-- (token_hash); id is the handle listings and revocation use.
CREATE TABLE browser_sessions (
    id                  TEXT PRIMARY KEY,
    token_hash          BLOB NOT NULL UNIQUE,
    tenant_id           TEXT NOT NULL,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_method         TEXT NOT NULL DEFAULT '',
    auth_time           INTEGER,
    password_at         INTEGER,
    remote_addr         TEXT NOT NULL DEFAULT '',
    user_agent          TEXT NOT NULL DEFAULT '',
    created_at          INTEGER,
    last_seen_at        INTEGER,
    idle_expires_at     INTEGER,
    absolute_expires_at INTEGER,
    revoked_at          INTEGER,
    revoke_reason       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE INDEX browser_sessions_user ON browser_sessions (user_id, created_at);

CREATE INDEX browser_sessions_purge ON browser_sessions (
    min(ifnull(idle_expires_at, 0), ifnull(absolute_expires_at, 0),
        ifnull(revoked_at, 9223372036854775807))
);

CREATE TABLE access_requests (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason     TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    created_at INTEGER,
    decided_at INTEGER,
    decided_by TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE INDEX access_requests_user ON access_requests (user_id, created_at);
CREATE INDEX access_requests_tenant ON access_requests (tenant_id, status, created_at);
-- A user has at most one pending request.
CREATE UNIQUE INDEX access_requests_pending ON access_requests (user_id)
    WHERE status = 'pending';

-- The audit page filters by event type within a tenant, newest first.
CREATE INDEX audit_type ON audit (type, time);
