-- Canopy schema, version 9 (SQLite): time is a dimension (issue 28).
-- Scans get the span of their capture times and the box around their
-- positions and footprints (GET /v1/scans filters and pages on them);
-- counts keep the counts they replace (a recount adds, never overwrites);
-- a count job may ask for a counter of its own (a recount by model); an
-- image says when retention deleted its raw object.

ALTER TABLE scans ADD COLUMN started_at TEXT; -- earliest capture time of its images
ALTER TABLE scans ADD COLUMN ended_at TEXT;   -- latest
-- WGS 84 box of its images' GPS positions and counted footprints (NULL: none placed).
ALTER TABLE scans ADD COLUMN min_lon REAL;
ALTER TABLE scans ADD COLUMN min_lat REAL;
ALTER TABLE scans ADD COLUMN max_lon REAL;
ALTER TABLE scans ADD COLUMN max_lat REAL;

UPDATE scans SET
    started_at = COALESCE((SELECT MIN(i.captured_at) FROM images i WHERE i.scan_id = scans.scan_id), created_at),
    ended_at = COALESCE((SELECT MAX(i.captured_at) FROM images i WHERE i.scan_id = scans.scan_id), created_at);
CREATE TEMPORARY TABLE scan_points AS
    SELECT i.scan_id AS scan_id, i.lon AS lon, i.lat AS lat FROM images i
    WHERE i.scan_id <> '' AND i.lon IS NOT NULL AND i.lat IS NOT NULL
    UNION ALL
    SELECT i.scan_id, json_extract(p.value, '$[0]'), json_extract(p.value, '$[1]')
    FROM counts c JOIN images i ON i.item_id = c.item_id, json_each(c.footprint) AS p
    WHERE i.scan_id <> '' AND c.footprint <> '';
UPDATE scans SET
    min_lon = (SELECT MIN(lon) FROM scan_points p WHERE p.scan_id = scans.scan_id),
    min_lat = (SELECT MIN(lat) FROM scan_points p WHERE p.scan_id = scans.scan_id),
    max_lon = (SELECT MAX(lon) FROM scan_points p WHERE p.scan_id = scans.scan_id),
    max_lat = (SELECT MAX(lat) FROM scan_points p WHERE p.scan_id = scans.scan_id);
DROP TABLE scan_points;
CREATE INDEX scans_started ON scans (started_at DESC, scan_id DESC);
CREATE INDEX scans_address ON scans (address_id, started_at) WHERE address_id <> '';

-- Counts replaced by a later count of the same image, as they were.
CREATE TABLE count_history (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id       TEXT NOT NULL REFERENCES images (item_id) ON DELETE CASCADE,
    count         INTEGER NOT NULL,
    boxes         TEXT NOT NULL DEFAULT '[]',
    method        TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL DEFAULT '',
    model_sha256  TEXT NOT NULL DEFAULT '',
    annotated_key TEXT NOT NULL DEFAULT '',
    mask_key      TEXT NOT NULL DEFAULT '',
    counted_at    TEXT NOT NULL,
    gsd_m         REAL NOT NULL DEFAULT 0,
    gsd_source    TEXT NOT NULL DEFAULT '',
    positions     TEXT NOT NULL DEFAULT '',
    position_note TEXT NOT NULL DEFAULT '',
    footprint     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX count_history_item ON count_history (item_id, counted_at DESC);

-- The counter a (re)count asks for: a method and the SHA-256 of an ONNX
-- model stored at processed/models/<sha256>.onnx ('' = the worker's own).
ALTER TABLE jobs ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN model_sha256 TEXT NOT NULL DEFAULT '';

-- When retention (serve --retain-raw) deleted the raw image (NULL: kept).
ALTER TABLE images ADD COLUMN raw_deleted_at TEXT;
CREATE INDEX images_received ON images (received_at) WHERE raw_deleted_at IS NULL;
