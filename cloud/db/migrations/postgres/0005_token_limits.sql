-- Canopy schema, version 5 (PostgreSQL): API tokens get an expiry, a bound
-- device, a revocation time and the time they were last used. (Numbers 3
-- and 4 are reserved for other changes; migrations are applied by number,
-- gaps included.)
--
-- device: a token bound to a device may upload only for that device ('' =
-- not bound). expires_at NULL: never expires. revoked_at NULL: not revoked;
-- a revoked token stays in the table so that it is refused with a clear
-- reason and still listed.
ALTER TABLE tokens ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN expires_at TIMESTAMPTZ;
ALTER TABLE tokens ADD COLUMN revoked_at TIMESTAMPTZ;
ALTER TABLE tokens ADD COLUMN last_used_at TIMESTAMPTZ;
