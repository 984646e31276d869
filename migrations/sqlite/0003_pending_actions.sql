-- leje store, schema 3: after-processing actions (move, flag) survive a crash.
-- A processed IMAP message keeps action_pending set, in the same transaction as
-- its effects, until its move or flag has been applied on the server; a
-- restarted daemon applies what is still pending.

ALTER TABLE processed_messages ADD COLUMN action_pending BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX processed_action_pending ON processed_messages (mailbox, uidvalidity, uid)
    WHERE action_pending;
