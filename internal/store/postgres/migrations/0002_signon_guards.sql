-- 0002_signon_guards: what the engine needs to guard sign-on.
--
-- sessions.auth_method: how the user authenticated when the session was
-- created (its created_at is that time); '' for older sessions, which so
-- count as of unknown origin. A constant default: no table rewrite.
--
-- signon_failures: failed sign-ons counted per key (an account, a client
-- address) for the throttling of password guessing, shared by every node.
-- A key is at most a few hundred bytes: the engine names only valid user
-- names and addresses in it.

ALTER TABLE sessions ADD COLUMN auth_method text NOT NULL DEFAULT '';

CREATE TABLE signon_failures (
    key      text COLLATE "C" PRIMARY KEY,
    count    integer NOT NULL,
    first_at timestamptz NOT NULL,
    last_at  timestamptz NOT NULL
);

-- PurgeFailures deletes by last_at.
CREATE INDEX signon_failures_last ON signon_failures (last_at);
