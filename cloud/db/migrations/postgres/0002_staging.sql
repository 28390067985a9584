-- Canopy schema, version 2 (PostgreSQL): chunks staged by the receivers, and
-- the outbox figures that devices report.
--
-- A receiver behind a shared subscription gets only some of the chunks of a
-- multi-chunk item; it stages the chunks it cannot finish here, and whichever
-- receiver stages the last one assembles the item (cloud/ingest). The table is
-- UNLOGGED: it is not written to the WAL (fast), and PostgreSQL empties it
-- after a crash, which loses nothing, since a device sends an item again until
-- it is acknowledged.
CREATE UNLOGGED TABLE staged_chunks (
    device      TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    chunk       INTEGER NOT NULL,
    chunks      INTEGER NOT NULL,
    frame       BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device, item_id, chunk)
);
CREATE INDEX staged_chunks_received ON staged_chunks (received_at);

ALTER TABLE devices ADD COLUMN evictions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN dead_letters BIGINT NOT NULL DEFAULT 0;
