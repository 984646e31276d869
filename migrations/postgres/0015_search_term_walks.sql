-- leje store, schema 15 (issue 19): a search reads what it needs from the term rows.
-- - A word naming few distinct terms (`cuci`, `muller`) is read term by term, each
--   walked along an index in the page's order and stopped after a page: a common
--   surname read 8,000 rows and sorted them for each search. Newest-first walks the
--   key (term, case_id) backwards.
-- - The term rows carry what the case list filters by (stage, directorate,
--   nationality), so a search with filters checks them on the rows it reads instead
--   of looking up each row's case (a prefix of 10,000 documents: 10,000 lookups).
--   Each index includes them, so every read is index-only; the key no longer
--   carries the sort keys (schema 14), which the new indexes lead with.
ALTER TABLE case_terms
    ADD COLUMN stage TEXT, ADD COLUMN directorate TEXT, ADD COLUMN nationality TEXT;
UPDATE case_terms t SET stage = c.stage, directorate = c.directorate, nationality = c.nationality
    FROM cases c WHERE c.id = t.case_id;
ALTER TABLE case_terms DROP CONSTRAINT case_terms_pkey;
ALTER TABLE case_terms ADD PRIMARY KEY (term, case_id) INCLUDE (stage, directorate, nationality);
CREATE INDEX case_terms_updated ON case_terms (term, updated_at, case_id)
    INCLUDE (stage, directorate, nationality);
CREATE INDEX case_terms_name ON case_terms (term, name, case_id)
    INCLUDE (stage, directorate, nationality);
