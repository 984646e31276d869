-- leje store, schema 13: the search terms carry their case's sort keys (issue 19).
-- A search's page is then read from case_terms alone (an index-only range of its
-- primary key, which includes the sort keys), and only the page's cases are looked
-- up, instead of every matching case being looked up and sorted. The terms indexed
-- so far are kept (their sort keys copied from cases); the daemon's background job
-- brings the rest up to date, never a search.

ALTER TABLE case_terms ADD COLUMN updated_at TIMESTAMPTZ, ADD COLUMN name TEXT;
UPDATE case_terms t SET updated_at = c.updated_at, name = c.name
    FROM cases c WHERE c.id = t.case_id;
ALTER TABLE case_terms ALTER COLUMN updated_at SET NOT NULL;
ALTER TABLE case_terms DROP CONSTRAINT case_terms_pkey;
ALTER TABLE case_terms ADD PRIMARY KEY (term, case_id) INCLUDE (updated_at, name);
DROP INDEX case_terms_case;
CREATE INDEX case_terms_case ON case_terms (case_id, term) INCLUDE (updated_at);
