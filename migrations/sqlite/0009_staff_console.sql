-- leje store, schema 9: the staff console (issue 19).
-- Staff accounts and their sessions (tokens stored as sha256, never in clear), failed
-- logins for throttling, who made each stage change (case_events.actor), notes and
-- edits made by staff, a search index over names, travel documents and addresses
-- (folded: lower case, no diacritics), and the indexes the console's pages read by.

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    admin         BOOLEAN NOT NULL DEFAULT FALSE,
    language      TEXT NOT NULL DEFAULT 'en',
    created_at    TEXT NOT NULL
);

CREATE TABLE staff_sessions (
    token_sha256 TEXT PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen    TEXT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

CREATE TABLE login_failures (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

ALTER TABLE case_events ADD COLUMN actor TEXT;

CREATE TABLE case_notes (
    id      INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id, id);

-- One row per search term of a case; a prefix search is a range scan of the key.
CREATE TABLE case_terms (
    term    TEXT NOT NULL,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    PRIMARY KEY (term, case_id)
);
CREATE INDEX case_terms_case ON case_terms (case_id, term);

-- How far case_terms has caught up with cases.updated_at.
CREATE TABLE view_marks (
    name  TEXT PRIMARY KEY,
    at    TEXT NOT NULL
);

CREATE INDEX cases_updated ON cases (updated_at, id);
CREATE INDEX cases_stage_updated ON cases (stage, updated_at, id);
CREATE INDEX cases_directorate ON cases (directorate, updated_at);
CREATE INDEX cases_nationality ON cases (nationality, updated_at);
CREATE INDEX cases_name ON cases (name, id);
CREATE INDEX case_conflicts_open ON case_conflicts (case_id) WHERE resolved_at IS NULL;
CREATE INDEX processed_case ON processed_messages (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX processed_attention ON processed_messages (outcome, id)
    WHERE outcome IN ('ignored', 'failed', 'skipped', 'needs_review');
CREATE INDEX outbox_status_id ON outbox (status, id);
