-- leje store, schema 13: the console's Citizenship list reads the clock's facts a
-- page of cases at a time (a range of case ids). Every other table it reads is
-- keyed by case_id first; the approvals (notifications) were not, so a page, and
-- the case page's clock, read the whole table.
CREATE INDEX notifications_case ON notifications (case_id) WHERE case_id IS NOT NULL;
