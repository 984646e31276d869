-- leje store, schema 7: the date each notification was sent by the office.
-- A residence permit is renewed every year or so, with a notice naming the same
-- person and (often) the same passport. With this date the store can tell that
-- renewal from last year's notice forwarded again, and start the case over.
-- Notifications stored before this schema have no date: a later notice for the
-- same case is then taken as the same approval again, as before.

ALTER TABLE notifications ADD COLUMN notified_at TIMESTAMPTZ;
