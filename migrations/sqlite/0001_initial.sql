-- leje store, schema 1: cases, their history, processed messages, waybills,
-- outbox and IMAP checkpoints. Timestamps are RFC 3339 UTC text; lists are JSON text.

CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    travel_document TEXT NOT NULL UNIQUE,
    name            TEXT,
    nationality     TEXT,
    directorate     TEXT,
    contacts        TEXT NOT NULL DEFAULT '[]',
    language        TEXT,
    stage           TEXT NOT NULL,
    next_due        TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX cases_stage ON cases (stage);

CREATE TABLE processed_messages (
    id                INTEGER PRIMARY KEY,
    origin            TEXT NOT NULL CHECK (origin IN ('imap', 'file')),
    mailbox           TEXT,
    uidvalidity       INTEGER,
    uid               INTEGER,
    path              TEXT,
    message_id        TEXT,
    raw_sha256        TEXT,
    size              INTEGER NOT NULL,
    notification_hash TEXT,
    kind              TEXT,
    outcome           TEXT NOT NULL,
    reason            TEXT,
    case_id           INTEGER REFERENCES cases (id),
    at                TEXT NOT NULL
);
-- Re-ingesting the same origin is a no-op: these make the second INSERT conflict.
CREATE UNIQUE INDEX processed_imap ON processed_messages (mailbox, uidvalidity, uid) WHERE origin = 'imap';
CREATE UNIQUE INDEX processed_file ON processed_messages (path, raw_sha256) WHERE origin = 'file';
CREATE INDEX processed_message_id ON processed_messages (message_id);
CREATE INDEX processed_raw ON processed_messages (raw_sha256);
CREATE INDEX processed_outcome ON processed_messages (outcome);

-- Each notification (ParsedMessage::notification_hash) changes a case at most once.
CREATE TABLE notifications (
    hash          TEXT PRIMARY KEY,
    case_id       INTEGER REFERENCES cases (id),
    first_message INTEGER NOT NULL REFERENCES processed_messages (id),
    at            TEXT NOT NULL
);

CREATE TABLE case_events (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    at          TEXT NOT NULL,
    from_stage  TEXT,
    to_stage    TEXT NOT NULL,
    cause       TEXT NOT NULL,
    detail      TEXT,
    message     INTEGER REFERENCES processed_messages (id)
);
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE TABLE waybills (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    message      INTEGER REFERENCES processed_messages (id),
    filename     TEXT,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    amount_lek   INTEGER,
    created_at   TEXT NOT NULL,
    UNIQUE (case_id, sha256)
);

CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    case_id            INTEGER NOT NULL REFERENCES cases (id),
    kind               TEXT NOT NULL,
    message_id         TEXT NOT NULL UNIQUE,
    in_reply_to        TEXT,
    refs               TEXT NOT NULL DEFAULT '[]',
    forwarded_by       TEXT,
    forwarder_is_staff BOOLEAN NOT NULL DEFAULT FALSE,
    original_to        TEXT,
    status             TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT NOT NULL,
    last_error         TEXT,
    created_at         TEXT NOT NULL,
    sent_at            TEXT,
    sent_to            TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_case ON outbox (case_id);

CREATE TABLE checkpoints (
    mailbox     TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
