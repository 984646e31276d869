-- leje store, schema 2: conflicts kept for review, mailbox leases for several
-- processes, and per-recipient send log for the daily rate limit.

ALTER TABLE cases ADD COLUMN review_from TEXT;

CREATE TABLE case_conflicts (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT,
    message     INTEGER REFERENCES processed_messages (id),
    at          TEXT NOT NULL,
    resolved_at TEXT,
    resolution  TEXT
);
CREATE INDEX case_conflicts_case ON case_conflicts (case_id);

CREATE TABLE leases (
    mailbox    TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE outbox_recipients (
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    address   TEXT NOT NULL,
    sent_at   TEXT NOT NULL
);
CREATE INDEX outbox_recipients_address ON outbox_recipients (address, sent_at);
