-- 0005_oidc: tokengate as an OpenID Connect provider (as SQLite's
-- 0005_oidc): client redirect URIs, post-logout redirect URIs, allowed
-- scopes and first-party flag; authorization codes and consents in the
-- store, so any node redeems a code another issued; the browser sign-in
-- whose code started a session.
ALTER TABLE clients ADD COLUMN redirect_uris text[];
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris text[];
ALTER TABLE clients ADD COLUMN scopes text[];
ALTER TABLE clients ADD COLUMN first_party boolean NOT NULL DEFAULT false;

ALTER TABLE sessions ADD COLUMN browser_session_id text COLLATE "C" NOT NULL DEFAULT '';

CREATE INDEX sessions_browser ON sessions (browser_session_id) WHERE browser_session_id <> '';

CREATE TABLE auth_codes (
    code_hash          bytea PRIMARY KEY,
    tenant_id          text COLLATE "C" NOT NULL,
    client_id          text COLLATE "C" NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id            text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    browser_session_id text COLLATE "C" NOT NULL DEFAULT '',
    redirect_uri       text NOT NULL DEFAULT '',
    scope              text NOT NULL DEFAULT '',
    nonce              text NOT NULL DEFAULT '',
    code_challenge     text NOT NULL DEFAULT '',
    auth_time          timestamptz,
    created_at         timestamptz,
    expires_at         timestamptz,
    used_at            timestamptz,
    session_id         text COLLATE "C" NOT NULL DEFAULT ''
);

CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);

CREATE TABLE consents (
    user_id    text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  text COLLATE "C" NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    tenant_id  text COLLATE "C" NOT NULL,
    scopes     text[],
    created_at timestamptz,
    updated_at timestamptz,
    PRIMARY KEY (user_id, client_id)
);

CREATE INDEX consents_client ON consents (client_id);
