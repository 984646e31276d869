-- leje store, schema 15 (issue 19): a search reads what it needs from the term rows.
-- - A word naming few distinct terms (`cuci`, `muller`) is read term by term, each
--   walked along an index in the page's order and stopped after a page: a common
--   surname read 8,000 rows and sorted them for each search. Newest-first walks the
--   key (term, case_id) backwards.
-- - The term rows carry what the case list filters by (stage, directorate,
--   nationality), so a search with filters checks them on the rows it reads instead
--   of looking up each row's case (a prefix of 10,000 documents: 10,000 lookups).
--   The indexes end with them, so a walk never leaves its index.
ALTER TABLE case_terms ADD COLUMN stage TEXT;
ALTER TABLE case_terms ADD COLUMN directorate TEXT;
ALTER TABLE case_terms ADD COLUMN nationality TEXT;
UPDATE case_terms SET (stage, directorate, nationality) =
    (SELECT c.stage, c.directorate, c.nationality FROM cases c WHERE c.id = case_terms.case_id);
CREATE INDEX case_terms_updated
    ON case_terms (term, updated_at, case_id, stage, directorate, nationality);
CREATE INDEX case_terms_name
    ON case_terms (term, name, case_id, stage, directorate, nationality);
