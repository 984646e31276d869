-- leje store, schema 8: who sent each message, and emails held for a person.
-- Every message records the trust verdict (src/trust/): whether its sender
-- (forwarder) and the Directorate's notice in it (original) were verified, the
-- verified forwarder's address, whether the message was trusted to send in the
-- agency's name, and why. Messages stored before this schema count as trusted,
-- as they were then.
ALTER TABLE processed_messages ADD COLUMN forwarder_verified BOOLEAN;
ALTER TABLE processed_messages ADD COLUMN original_verified BOOLEAN;
ALTER TABLE processed_messages ADD COLUMN verified_forwarder TEXT;
ALTER TABLE processed_messages ADD COLUMN verified_staff BOOLEAN;
ALTER TABLE processed_messages ADD COLUMN trusted BOOLEAN;
ALTER TABLE processed_messages ADD COLUMN trust_reason TEXT;

-- An email from an untrusted message is written with status 'held' and goes
-- out only when a person releases it (Store::outbox_release). Each email keeps
-- the message it came from: its waybills, and only its, are attached; and
-- whether that message's forwarder and notice were verified, for its recipients.
ALTER TABLE outbox ADD COLUMN source_message INTEGER;
ALTER TABLE outbox ADD COLUMN forwarder_verified BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE outbox ADD COLUMN original_verified BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE outbox ADD COLUMN released_by TEXT;
ALTER TABLE outbox ADD COLUMN released_at TEXT;
-- The hourly caps count what was sent in the last hour.
CREATE INDEX outbox_sent_at ON outbox (sent_at);
