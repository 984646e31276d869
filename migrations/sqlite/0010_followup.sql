-- leje store, schema 10: after the first email (issue 20): reminders, replies,
-- one-click links and bounced addresses.
--
-- A case's next reminder is due at COALESCE(remind_from, created_at) plus the
-- configured delay of its stage (`[followup]`), so changing a delay applies to
-- every case at once. The reminder pass moves remind_from in the same
-- transaction that puts the reminder in the outbox. remind_state: NULL = active,
-- `paused` (staff), `stalled` (the stage's reminders are used up), `unsubscribed`
-- (the applicant, RFC 8058). The partial index holds only active cases, ordered
-- by stage and due base, so a pass reads only what is due.

ALTER TABLE cases ADD COLUMN remind_from TEXT;
ALTER TABLE cases ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN remind_state TEXT;
CREATE INDEX cases_remind_due ON cases (stage, COALESCE(remind_from, created_at))
    WHERE remind_state IS NULL;

-- Every stage change, whoever makes it (ingest, CLI, a link, a renewal), starts
-- the new stage's reminders afresh; a stalled case becomes active again.
CREATE TRIGGER cases_followup_stage AFTER UPDATE OF stage ON cases
    WHEN OLD.stage IS NOT NEW.stage
BEGIN
    UPDATE cases SET remind_from = NEW.updated_at, reminders_sent = 0,
        remind_state = CASE WHEN remind_state = 'stalled' THEN NULL ELSE remind_state END
    WHERE id = NEW.id;
END;

-- Mail attached to a case: applicants' replies, auto-replies and bounces of
-- leje's mail, and follow-ups from the Directorate. A reply or Directorate mail
-- waits for staff until answered_at is set.
CREATE TABLE case_mail (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    message     INTEGER REFERENCES processed_messages (id),
    kind        TEXT NOT NULL,
    sender      TEXT,
    subject     TEXT,
    detail      TEXT,
    at          TEXT NOT NULL,
    answered_at TEXT
);
CREATE INDEX case_mail_case ON case_mail (case_id, id);
CREATE INDEX case_mail_waiting ON case_mail (id) WHERE answered_at IS NULL;

-- Files that came with attached mail; contents in waybill_data by sha256.
CREATE TABLE case_mail_files (
    id           INTEGER PRIMARY KEY,
    mail_id      INTEGER NOT NULL REFERENCES case_mail (id),
    filename     TEXT,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL
);
CREATE INDEX case_mail_files_mail ON case_mail_files (mail_id);

-- One-click links already used (sha256 of the token): a second click shows
-- where the case stands instead of changing it again.
CREATE TABLE link_uses (
    token_sha256 TEXT PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    step         TEXT NOT NULL,
    at           TEXT NOT NULL
);

-- Addresses whose mail bounced; the case goes to review.
CREATE TABLE bad_addresses (
    address TEXT PRIMARY KEY,
    case_id INTEGER REFERENCES cases (id),
    reason  TEXT,
    at      TEXT NOT NULL
);
