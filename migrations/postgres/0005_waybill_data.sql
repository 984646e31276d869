-- leje store, schema 5: waybill contents in the database, by sha256.
-- Until schema 4 each waybill was a file under <state_dir>/attachments/. Creating a
-- file per waybill cost more than all of a message's rows together, and with
-- PostgreSQL each instance only saw its own files. Waybills stored before this
-- version stay where they are and are still read from there.

CREATE TABLE waybill_data (
    sha256 TEXT PRIMARY KEY,
    data   BYTEA NOT NULL
);
