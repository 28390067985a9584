-- Canopy schema, version 8 (PostgreSQL): the audit trail, and the token
-- scopes metrics and admin.
--
-- audit: one row per change of trust or state (device add and revoke, token
-- create and revoke, rollout create and abort, upload, export): when, who
-- (token:<id> (name) for the HTTP API, cli:<user>@<host> for the command
-- line), what (action), on what (subject) and the rest (detail). The
-- application only ever inserts; the triggers below refuse UPDATE, DELETE
-- and TRUNCATE, so that a bug cannot rewrite history either.
CREATE TABLE audit (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    who     TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- tokens: metrics (GET /metrics only) and admin (everything, GET /v1/audit
-- included) join read and write.
ALTER TABLE tokens DROP CONSTRAINT tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check CHECK (scope IN ('read', 'write', 'metrics', 'admin'));
