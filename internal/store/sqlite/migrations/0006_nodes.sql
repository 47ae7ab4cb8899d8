-- 0006_nodes: PostgreSQL's 0006 adds the triggers that notify the nodes
-- sharing a database of changes their caches must not outlive. A SQLite
-- store is one node's (and the admin commands beside it, whose changes
-- the node's caches re-check within the revocation bound), so it needs
-- none; this file keeps the two backends' schema versions in step.
SELECT 1;
