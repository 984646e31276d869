-- leje store, schema 12: several instances on one PostgreSQL store (issue 24).
-- Leases get a fencing token: `generation` grows on every takeover (and when a
-- holder renews a lease that had already expired), and every commit made under
-- a lease checks (mailbox, holder, generation) in its own transaction. A release
-- now expires the row instead of deleting it, so the generation never goes back.
-- `since` is when the current holder took it (for `leje status`).
ALTER TABLE leases ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE leases ADD COLUMN since TEXT;

-- Running processes, each renewing its row by a heartbeat: the live ones share
-- the mailboxes out. `epoch` grows when a process that was taken for dead (its
-- row expired: SIGSTOP, a stall, a partition) comes back, so claims it made
-- before are void.
CREATE TABLE instances (
    holder     TEXT PRIMARY KEY,
    epoch      INTEGER NOT NULL DEFAULT 1,
    started_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- The outbox as a shared work queue: a row is claimed (holder#epoch) before it
-- is sent; the claim is void once its holder's instance row expired.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
