-- leje store, schema 6: two indexes on processed_messages that every message paid for.
-- processed_raw was looked up only for a message without a Message-ID (after a
-- UIDVALIDITY change); it now holds only those, instead of a random-keyed entry for
-- every message, which a backlog commit rewrote page by page.
-- processed_outcome served only `leje messages list --outcome` and the metrics'
-- count by outcome, both of which read the table in order anyway.

DROP INDEX processed_raw;
CREATE INDEX processed_raw ON processed_messages (raw_sha256) WHERE message_id IS NULL;
DROP INDEX processed_outcome;
