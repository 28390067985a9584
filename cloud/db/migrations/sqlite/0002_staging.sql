-- Canopy schema, version 2 (SQLite): chunks staged by the receivers, and the
-- outbox figures that devices report. See the PostgreSQL migration.
CREATE TABLE staged_chunks (
    device      TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    chunk       INTEGER NOT NULL,
    chunks      INTEGER NOT NULL,
    frame       BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device, item_id, chunk)
);
CREATE INDEX staged_chunks_received ON staged_chunks (received_at);

ALTER TABLE devices ADD COLUMN evictions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN dead_letters INTEGER NOT NULL DEFAULT 0;
