-- Canopy schema, version 3 (PostgreSQL): who may connect, and the cloud's keys.
--
-- credentials: one row per MQTT identity. username is the device id for a
-- device; password_hash is PBKDF2-SHA512 in Mosquitto's "$7$" format (never
-- the password); cert_serial names the client certificate issued to it, if
-- any. A revoked identity keeps its row (revoked_at set) and is refused.
CREATE TABLE credentials (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('device', 'receiver', 'producer')),
    password_hash TEXT NOT NULL,
    cert_serial   TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);

-- cloud_keys: the cloud's own secrets, made on first start and shared by
-- every receiver: "ack_signing" (the Ed25519 key that signs acks) and
-- "device_ca" (the CA that signs device client certificates).
CREATE TABLE cloud_keys (
    name       TEXT PRIMARY KEY,
    secret     BYTEA NOT NULL,
    public     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
