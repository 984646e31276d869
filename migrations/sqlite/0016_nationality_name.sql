-- leje store, schema 16 (issue 19): the case list filtered by nationality and
-- sorted by name is read along this index. Names follow nationality (Chinese
-- applicants' names gather under a few letters), so walking the name index and
-- skipping other nationalities read whatever came first: 230 ms for a page when a
-- quarter of the cases, all of one nationality, sorted after half the names. (The
-- other filters by name or by creation do without an index of their own:
-- `case_list::list_drive`; one per pair cost ingest 15 % more CPU.)
CREATE INDEX cases_nationality_name ON cases (nationality, name);
