-- Canopy schema, version 8 (SQLite): the audit trail, and the token scopes
-- metrics and admin.
--
-- audit: one row per change of trust or state (device add and revoke, token
-- create and revoke, rollout create and abort, upload, export): when, who
-- (token:<id> (name) for the HTTP API, cli:<user>@<host> for the command
-- line), what (action), on what (subject) and the rest (detail). The
-- application only ever inserts; the triggers below refuse UPDATE and
-- DELETE, so that a bug cannot rewrite history either. Times as in version 1.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    who     TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused');
END;

-- tokens: metrics (GET /metrics only) and admin (everything, GET /v1/audit
-- included) join read and write. SQLite cannot change a CHECK constraint in
-- place: the table is rebuilt with the columns of versions 1 and 5, in their
-- order.
CREATE TABLE tokens_v8 (
    hash         TEXT PRIMARY KEY,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write', 'metrics', 'admin')),
    name         TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    device       TEXT NOT NULL DEFAULT '',
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
);
INSERT INTO tokens_v8 (hash, scope, name, created_at, device, expires_at, revoked_at, last_used_at)
    SELECT hash, scope, name, created_at, device, expires_at, revoked_at, last_used_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v8 RENAME TO tokens;
