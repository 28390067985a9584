-- Canopy schema, version 7 (PostgreSQL): the cloud talks back. Desired
-- documents per device, the artifacts (models) they name, rollouts in waves,
-- and what each device reports it runs.
--
-- artifacts: a file delivered to devices, cut into chunks of chunk_size
-- bytes (the last may be shorter) kept in artifact_chunks, so that any
-- receiver can answer a device's request for any chunk.
CREATE TABLE artifacts (
    sha256     TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    chunk_size INTEGER NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE artifact_chunks (
    sha256 TEXT NOT NULL REFERENCES artifacts (sha256) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (sha256, idx)
);

-- desired_docs: each device's current desired document (doc, the JSON of
-- wire.Desired) and the signed message published for it (payload),
-- retained, on its desired topic. version only grows.
CREATE TABLE desired_docs (
    device     TEXT PRIMARY KEY,
    version    BIGINT NOT NULL,
    doc        TEXT NOT NULL,
    payload    TEXT NOT NULL,
    rollout    TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX desired_docs_updated ON desired_docs (updated_at);

-- rollouts: a model and/or config overrides for a set of devices, sent in
-- waves (the first a canary share); state is running, paused, halted,
-- aborted or done. wave is the number of waves sent so far.
CREATE TABLE rollouts (
    id              TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    model_sha256    TEXT NOT NULL DEFAULT '',
    config          TEXT NOT NULL DEFAULT '',
    waves           INTEGER NOT NULL,
    canary          DOUBLE PRECISION NOT NULL,
    halt_threshold  DOUBLE PRECISION NOT NULL,
    wave_timeout_ms BIGINT NOT NULL,
    wave            INTEGER NOT NULL DEFAULT 0,
    wave_started_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- rollout_devices: the devices of a rollout, their wave, the desired
-- version sent to them (0: not yet), their state in the rollout (pending,
-- sent, applied, failed, withdrawn, skipped) and the desired document they
-- had before (prev, JSON; '' for none), which a withdrawal restores.
CREATE TABLE rollout_devices (
    rollout    TEXT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    device     TEXT NOT NULL,
    wave       INTEGER NOT NULL,
    version    BIGINT NOT NULL DEFAULT 0,
    state      TEXT NOT NULL DEFAULT 'pending',
    detail     TEXT NOT NULL DEFAULT '',
    prev       TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rollout, device)
);
CREATE INDEX rollout_devices_device ON rollout_devices (device);

-- device_reported: what each device last reported of its desired state
-- (wire.Reported, from its status).
CREATE TABLE device_reported (
    device          TEXT PRIMARY KEY,
    version         BIGINT NOT NULL,
    model_sha256    TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    pending_version BIGINT NOT NULL DEFAULT 0,
    failed_version  BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    fetched_bytes   BIGINT NOT NULL DEFAULT 0,
    fetch_size      BIGINT NOT NULL DEFAULT 0,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- artifact_deliveries: the chunk bytes sent to each device for each
-- artifact, copies included (bytes beyond the size were sent again).
CREATE TABLE artifact_deliveries (
    device     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    requests   BIGINT NOT NULL,
    chunks     BIGINT NOT NULL,
    bytes      BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device, sha256)
);
