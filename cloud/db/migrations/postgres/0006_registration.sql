-- Canopy schema, version 6 (PostgreSQL): the photos of a scan registered
-- to each other by their content (issue 22, package cloud/register).

-- One row per scan. A counted photo bumps dirty_seq; a worker claims a
-- scan whose dirty_seq is ahead of done_seq once dirty_since (the first
-- change not yet registered) is older than its settle time, holds it
-- until lease_until, and records what it did. stats and mosaic are JSON.
CREATE TABLE scan_registrations (
    scan_id     TEXT PRIMARY KEY REFERENCES scans (scan_id) ON DELETE CASCADE,
    dirty_seq   BIGINT NOT NULL DEFAULT 0,
    done_seq    BIGINT NOT NULL DEFAULT 0,
    dirty_since TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    worker      TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'pending',
    note        TEXT NOT NULL DEFAULT '',
    origin_lon  DOUBLE PRECISION,
    origin_lat  DOUBLE PRECISION,
    stats       TEXT NOT NULL DEFAULT '',
    mosaic      TEXT NOT NULL DEFAULT '',
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX scan_registrations_dirty ON scan_registrations (dirty_since) WHERE dirty_seq > done_seq;

-- One row per photo: its keypoints and reduced view (objects in the
-- processed bucket, kept so that a new photo is matched without finding
-- its neighbours' keypoints again), and where the last registration put
-- it: its block (-1: none) and the map from its pixels to the block's
-- frame in metres (to_frame, JSON [9]; '' when not registered).
CREATE TABLE registration_photos (
    item_id      TEXT PRIMARY KEY REFERENCES images (item_id) ON DELETE CASCADE,
    scan_id      TEXT NOT NULL,
    features_key TEXT NOT NULL DEFAULT '',
    view_key     TEXT NOT NULL DEFAULT '',
    view_width   INTEGER NOT NULL DEFAULT 0,
    view_height  INTEGER NOT NULL DEFAULT 0,
    view_scale   DOUBLE PRECISION NOT NULL DEFAULT 0,
    keypoints    INTEGER NOT NULL DEFAULT 0,
    block        INTEGER NOT NULL DEFAULT -1,
    to_frame     TEXT NOT NULL DEFAULT '',
    geo          BOOLEAN NOT NULL DEFAULT FALSE,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX registration_photos_scan ON registration_photos (scan_id);

-- One row per pair of photos matched, registered or not (reason), so that
-- a new photo of a scan is matched only against its own neighbours. h is
-- JSON [9] (B's view to A's), corr a JSON sample of inlier pairs.
CREATE TABLE registration_pairs (
    scan_id    TEXT NOT NULL,
    item_a     TEXT NOT NULL REFERENCES images (item_id) ON DELETE CASCADE,
    item_b     TEXT NOT NULL REFERENCES images (item_id) ON DELETE CASCADE,
    why        TEXT NOT NULL DEFAULT '',
    guided     BOOLEAN NOT NULL DEFAULT FALSE,
    ok         BOOLEAN NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    matches    INTEGER NOT NULL DEFAULT 0,
    inliers    INTEGER NOT NULL DEFAULT 0,
    rms_px     DOUBLE PRECISION NOT NULL DEFAULT 0,
    h          TEXT NOT NULL DEFAULT '',
    corr       TEXT NOT NULL DEFAULT '',
    matched_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scan_id, item_a, item_b)
);

-- Scans stored before this version are registered once by the workers.
INSERT INTO scan_registrations (scan_id, dirty_seq, dirty_since, updated_at)
    SELECT scan_id, 1, created_at, created_at FROM scans;
