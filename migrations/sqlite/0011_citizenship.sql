-- leje store, schema 11: the facts the citizenship clock needs (issue 21).
-- Per case: date of birth, Albanian origin, stateless, marriage to an Albanian
-- citizen ('yes'/'no' text, NULL = unknown; dates as YYYY-MM-DD, Europe/Tirane);
-- periods of lawful residence and absences entered by staff (the approvals
-- leje saw count without a row here); and the eligibility emails queued, one per case and route:
-- the primary key is what makes that email exactly-once, even for two passes
-- running at the same time.

CREATE TABLE citizenship_facts (
    case_id          INTEGER PRIMARY KEY REFERENCES cases (id),
    born             TEXT,
    albanian_origin  TEXT CHECK (albanian_origin IN ('yes', 'no')),
    stateless        TEXT CHECK (stateless IN ('yes', 'no')),
    married_albanian TEXT CHECK (married_albanian IN ('yes', 'no')),
    married_since    TEXT,
    updated_at       TEXT NOT NULL
);

CREATE TABLE residence_periods (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    from_date  TEXT NOT NULL,
    to_date    TEXT,
    -- An absence: not resident from from_date to to_date (cuts any period).
    absent     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    UNIQUE (case_id, from_date, absent)
);

CREATE TABLE citizenship_notices (
    case_id   INTEGER NOT NULL REFERENCES cases (id),
    route     TEXT NOT NULL,
    opens_on  TEXT NOT NULL,
    early     BOOLEAN NOT NULL,
    stateless BOOLEAN NOT NULL,
    -- The periods that applied when it was decided, for the email's wording.
    residence_years  INTEGER NOT NULL,
    marriage_years   INTEGER,
    outbox_id INTEGER REFERENCES outbox (id),
    at        TEXT NOT NULL,
    PRIMARY KEY (case_id, route)
);
CREATE INDEX citizenship_notices_outbox ON citizenship_notices (outbox_id);
