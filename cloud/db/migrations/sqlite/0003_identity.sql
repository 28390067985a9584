-- Canopy schema, version 3 (SQLite): who may connect, and the cloud's keys.
-- See the PostgreSQL migration.
CREATE TABLE credentials (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('device', 'receiver', 'producer')),
    password_hash TEXT NOT NULL,
    cert_serial   TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);

CREATE TABLE cloud_keys (
    name       TEXT PRIMARY KEY,
    secret     BLOB NOT NULL,
    public     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
