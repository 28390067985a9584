-- Canopy schema, version 9 (PostgreSQL): time is a dimension (issue 28).
-- Scans get the span of their capture times and the box around their
-- positions and footprints (GET /v1/scans filters and pages on them);
-- counts keep the counts they replace (a recount adds, never overwrites);
-- a count job may ask for a counter of its own (a recount by model); an
-- image says when retention deleted its raw object.

ALTER TABLE scans ADD COLUMN started_at TIMESTAMPTZ; -- earliest capture time of its images
ALTER TABLE scans ADD COLUMN ended_at TIMESTAMPTZ;   -- latest
-- WGS 84 box of its images' GPS positions and counted footprints (NULL: none placed).
ALTER TABLE scans ADD COLUMN min_lon DOUBLE PRECISION;
ALTER TABLE scans ADD COLUMN min_lat DOUBLE PRECISION;
ALTER TABLE scans ADD COLUMN max_lon DOUBLE PRECISION;
ALTER TABLE scans ADD COLUMN max_lat DOUBLE PRECISION;

UPDATE scans SET
    started_at = COALESCE((SELECT MIN(i.captured_at) FROM images i WHERE i.scan_id = scans.scan_id), created_at),
    ended_at = COALESCE((SELECT MAX(i.captured_at) FROM images i WHERE i.scan_id = scans.scan_id), created_at);
CREATE TEMPORARY TABLE scan_points ON COMMIT DROP AS
    SELECT i.scan_id, i.lon, i.lat FROM images i WHERE i.scan_id <> '' AND i.lon IS NOT NULL AND i.lat IS NOT NULL
    UNION ALL
    SELECT i.scan_id, (p.v ->> 0)::DOUBLE PRECISION, (p.v ->> 1)::DOUBLE PRECISION
    FROM counts c JOIN images i ON i.item_id = c.item_id, jsonb_array_elements(c.footprint::jsonb) AS p(v)
    WHERE i.scan_id <> '' AND c.footprint <> '';
UPDATE scans SET min_lon = b.min_lon, min_lat = b.min_lat, max_lon = b.max_lon, max_lat = b.max_lat
FROM (SELECT scan_id, MIN(lon) AS min_lon, MIN(lat) AS min_lat, MAX(lon) AS max_lon, MAX(lat) AS max_lat
      FROM scan_points GROUP BY scan_id) b
WHERE b.scan_id = scans.scan_id;
CREATE INDEX scans_started ON scans (started_at DESC, scan_id DESC);
CREATE INDEX scans_address ON scans (address_id, started_at) WHERE address_id <> '';

-- Counts replaced by a later count of the same image, as they were.
CREATE TABLE count_history (
    id            BIGSERIAL PRIMARY KEY,
    item_id       TEXT NOT NULL REFERENCES images (item_id) ON DELETE CASCADE,
    count         INTEGER NOT NULL,
    boxes         JSONB NOT NULL DEFAULT '[]',
    method        TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL DEFAULT '',
    model_sha256  TEXT NOT NULL DEFAULT '',
    annotated_key TEXT NOT NULL DEFAULT '',
    mask_key      TEXT NOT NULL DEFAULT '',
    counted_at    TIMESTAMPTZ NOT NULL,
    gsd_m         DOUBLE PRECISION NOT NULL DEFAULT 0,
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
ALTER TABLE images ADD COLUMN raw_deleted_at TIMESTAMPTZ;
CREATE INDEX images_received ON images (received_at) WHERE raw_deleted_at IS NULL;
