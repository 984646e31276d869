-- leje store, schema 4: when an email's temporary failures began.
-- retry_for counts from the first temporary failure, not from the row's creation:
-- a row held back by the daily limit (or by a stopped daemon) for days must not be
-- given up at its first failure. Deferrals do not set it.

ALTER TABLE outbox ADD COLUMN failing_since TIMESTAMPTZ;
