-- Canopy schema, version 7 (SQLite): the cloud talks back. Desired
-- documents per device, the artifacts (models) they name, rollouts in waves,
-- and what each device reports it runs.
-- See the PostgreSQL migration; times as in version 1.
CREATE TABLE artifacts (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    chunk_size INTEGER NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE artifact_chunks (
    sha256 TEXT NOT NULL REFERENCES artifacts (sha256) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (sha256, idx)
);

CREATE TABLE desired_docs (
    device     TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    payload    TEXT NOT NULL,
    rollout    TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE INDEX desired_docs_updated ON desired_docs (updated_at);

CREATE TABLE rollouts (
    id              TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    model_sha256    TEXT NOT NULL DEFAULT '',
    config          TEXT NOT NULL DEFAULT '',
    waves           INTEGER NOT NULL,
    canary          REAL NOT NULL,
    halt_threshold  REAL NOT NULL,
    wave_timeout_ms INTEGER NOT NULL,
    wave            INTEGER NOT NULL DEFAULT 0,
    wave_started_at TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE rollout_devices (
    rollout    TEXT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    device     TEXT NOT NULL,
    wave       INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0,
    state      TEXT NOT NULL DEFAULT 'pending',
    detail     TEXT NOT NULL DEFAULT '',
    prev       TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (rollout, device)
);
CREATE INDEX rollout_devices_device ON rollout_devices (device);

CREATE TABLE device_reported (
    device          TEXT PRIMARY KEY,
    version         INTEGER NOT NULL,
    model_sha256    TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    pending_version INTEGER NOT NULL DEFAULT 0,
    failed_version  INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    fetched_bytes   INTEGER NOT NULL DEFAULT 0,
    fetch_size      INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
);

CREATE TABLE artifact_deliveries (
    device     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    requests   INTEGER NOT NULL,
    chunks     INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (device, sha256)
);
