-- 0006_nodes: several nodes sharing the database hear of the changes that
-- their caches must not outlive.
--
-- Each trigger below notifies the channel tokengate, in the transaction
-- that makes the change (PostgreSQL delivers the notification when, and
-- only if, it commits; in commit order), with a JSON payload
-- {"schema", "kind", "id"}: the schema, since installations in several
-- schemas of one database share the channel, the kind of record, and its
-- id (for a membership, its user's). Store.Listen turns it into a
-- store.Change. The conditions keep the notifications rare: a refresh,
-- which rewrites its session's row, notifies nothing; a revocation does.
-- The listeners also re-check at the revocation bound whatever they
-- cache, so a lost notification delays a change, never loses it.

CREATE FUNCTION tokengate_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec jsonb;
    id  text := '';
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        IF TG_OP = 'DELETE' THEN
            rec := to_jsonb(OLD);
        ELSE
            rec := to_jsonb(NEW);
        END IF;
        id := coalesce(rec ->> TG_ARGV[1], '');
    END IF;
    PERFORM pg_notify('tokengate', json_build_object('schema', current_schema(), 'kind', TG_ARGV[0], 'id', id)::text);
    RETURN NULL;
END
$$;

-- A session revoked (by its user, an administrator, reuse, a limit, a
-- password change, a disabled user or client...). Deleting sessions is
-- the purge's, of sessions long dead, and notifies nothing.
CREATE TRIGGER sessions_notify AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION tokengate_notify('session', 'id');

CREATE TRIGGER users_notify_update AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.disabled IS DISTINCT FROM NEW.disabled OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION tokengate_notify('user', 'id');
CREATE TRIGGER users_notify_delete AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION tokengate_notify('user', 'id');

-- Clients and tenants change rarely; any change of them notifies.
CREATE TRIGGER clients_notify AFTER UPDATE OR DELETE ON clients FOR EACH ROW
    EXECUTE FUNCTION tokengate_notify('client', 'id');
CREATE TRIGGER tenants_notify AFTER UPDATE OR DELETE ON tenants FOR EACH ROW
    EXECUTE FUNCTION tokengate_notify('tenant', 'id');

CREATE TRIGGER memberships_notify AFTER INSERT OR UPDATE OR DELETE ON memberships FOR EACH ROW
    EXECUTE FUNCTION tokengate_notify('membership', 'user_id');

-- Any change of the key ring: a rotation, a retirement, a revocation.
CREATE TRIGGER signing_keys_notify AFTER INSERT OR UPDATE OR DELETE ON signing_keys FOR EACH STATEMENT
    EXECUTE FUNCTION tokengate_notify('keys');
