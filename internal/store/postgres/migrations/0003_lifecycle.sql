-- 0003_lifecycle: client secret rotation with an overlap, and key revocation.
--
-- A client whose secret was rotated keeps the previous secret's hash until
-- previous_secret_expires_at, so that its deployments can switch over.
-- Nullable columns without defaults: no table rewrite.
ALTER TABLE clients ADD COLUMN previous_secret_hash bytea;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at timestamptz;

-- A revoked signing key is neither published nor trusted; its row stays
-- until expires_at so that key listings show it.
ALTER TABLE signing_keys ADD COLUMN revoked_at timestamptz;
