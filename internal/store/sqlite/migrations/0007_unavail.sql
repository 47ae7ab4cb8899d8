-- 0007_unavail: one row that readiness (/readyz) and serve's start write
-- and commit, to prove the store can write, not only answer.
CREATE TABLE heartbeat (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    beats INTEGER NOT NULL
);
