-- 0005_oidc: tokengate as an OpenID Connect provider. Clients gain what
-- browser flows need (registered redirect URIs, post-logout redirect URIs,
-- allowed scopes, first-party or not); authorization codes and consents
-- are stored so that any node redeems a code another issued; a session
-- records the browser sign-in whose code started it, so that the
-- sign-in's logout can end it.
ALTER TABLE clients ADD COLUMN redirect_uris TEXT;
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT;
ALTER TABLE clients ADD COLUMN scopes TEXT;
ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0;

ALTER TABLE sessions ADD COLUMN browser_session_id TEXT NOT NULL DEFAULT '';

-- Only the sessions of an authorization code have a browser session.
CREATE INDEX sessions_browser ON sessions (browser_session_id) WHERE browser_session_id <> '';

-- A code is found by its SHA-256: the code itself is never stored.
CREATE TABLE auth_codes (
    code_hash          BLOB PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    client_id          TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    browser_session_id TEXT NOT NULL DEFAULT '',
    redirect_uri       TEXT NOT NULL DEFAULT '',
    scope              TEXT NOT NULL DEFAULT '',
    nonce              TEXT NOT NULL DEFAULT '',
    code_challenge     TEXT NOT NULL DEFAULT '',
    auth_time          INTEGER,
    created_at         INTEGER,
    expires_at         INTEGER,
    used_at            INTEGER,
    session_id         TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);

-- What a user allowed a client (third-party clients ask once).
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL,
    scopes     TEXT,
    created_at INTEGER,
    updated_at INTEGER,
    PRIMARY KEY (user_id, client_id)
) WITHOUT ROWID;

CREATE INDEX consents_client ON consents (client_id);
