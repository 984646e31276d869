-- leje store, schema 13: the search terms carry their case's sort keys (issue 19).
-- A search's page is then read from case_terms alone (one range of its primary key,
-- which holds every column: WITHOUT ROWID), and only the page's cases are looked up,
-- instead of every matching case being looked up and sorted. The terms indexed so far
-- are kept (their sort keys copied from cases); the daemon's background job brings
-- the rest up to date, never a search.

CREATE TABLE case_terms_13 (
    term       TEXT NOT NULL,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    updated_at TEXT NOT NULL,
    name       TEXT,
    PRIMARY KEY (term, case_id)
) WITHOUT ROWID;

INSERT INTO case_terms_13 (term, case_id, updated_at, name)
    SELECT t.term, t.case_id, c.updated_at, c.name
    FROM case_terms t JOIN cases c ON c.id = t.case_id;

DROP TABLE case_terms;
ALTER TABLE case_terms_13 RENAME TO case_terms;
CREATE INDEX case_terms_case ON case_terms (case_id, term, updated_at);
