-- Canopy schema, version 1 (PostgreSQL). Times are TIMESTAMPTZ.

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    online       BOOLEAN NOT NULL DEFAULT FALSE,
    outbox_depth INTEGER NOT NULL DEFAULT 0,
    version      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE scans (
    scan_id    TEXT PRIMARY KEY,
    address_id TEXT NOT NULL DEFAULT '',
    tree_type  TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE images (
    item_id        TEXT PRIMARY KEY,
    device         TEXT NOT NULL DEFAULT '',
    seq            BIGINT NOT NULL DEFAULT 0,
    captured_at    TIMESTAMPTZ NOT NULL,
    clock_synced   BOOLEAN NOT NULL DEFAULT FALSE,
    lat            DOUBLE PRECISION,
    lon            DOUBLE PRECISION,
    width          INTEGER NOT NULL DEFAULT 0,
    height         INTEGER NOT NULL DEFAULT 0,
    forest_share   DOUBLE PRECISION NOT NULL DEFAULT 0,
    segmenter      TEXT NOT NULL DEFAULT '',
    model          TEXT NOT NULL DEFAULT '',
    model_sha256   TEXT NOT NULL DEFAULT '',
    scan_id        TEXT NOT NULL DEFAULT '',
    address_id     TEXT NOT NULL DEFAULT '',
    tree_type      TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL DEFAULT '',
    origin         TEXT NOT NULL DEFAULT 'device',
    raw_key        TEXT NOT NULL,
    mask_key       TEXT NOT NULL DEFAULT '',
    content_sha256 TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL DEFAULT 'stored',
    received_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX images_newest ON images (captured_at DESC, item_id DESC);
CREATE INDEX images_device ON images (device, captured_at DESC, item_id DESC);
CREATE INDEX images_scan ON images (scan_id, captured_at DESC, item_id DESC) WHERE scan_id <> '';
CREATE INDEX images_raw_key ON images (raw_key);
CREATE INDEX images_mask_key ON images (mask_key) WHERE mask_key <> '';

CREATE TABLE counts (
    item_id       TEXT PRIMARY KEY REFERENCES images (item_id) ON DELETE CASCADE,
    count         INTEGER NOT NULL,
    boxes         JSONB NOT NULL DEFAULT '[]',
    method        TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL DEFAULT '',
    model_sha256  TEXT NOT NULL DEFAULT '',
    annotated_key TEXT NOT NULL DEFAULT '',
    mask_key      TEXT NOT NULL DEFAULT '',
    counted_at    TIMESTAMPTZ NOT NULL
);

-- One counting job per image. lease_until is, while queued, the time the job
-- becomes ready (retry back-off) and, while running, the end of the lease.
CREATE TABLE jobs (
    id          BIGSERIAL PRIMARY KEY,
    item_id     TEXT NOT NULL UNIQUE REFERENCES images (item_id) ON DELETE CASCADE,
    state       TEXT NOT NULL DEFAULT 'queued',
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until TIMESTAMPTZ NOT NULL,
    worker      TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_ready ON jobs (id) WHERE state IN ('queued', 'running');

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    scope      TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    name       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
