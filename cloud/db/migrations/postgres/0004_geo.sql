-- Canopy schema, version 4 (PostgreSQL): where images and trees lie on the
-- ground (issue 17). Versions 2 and 3 belong to other changes; migrations
-- are applied by number, each once, so the gap is harmless.

ALTER TABLE images ADD COLUMN gsd_m DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN gsd_source TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN height_m DOUBLE PRECISION;
-- the GPS altitude above sea level, when the device gave one
ALTER TABLE images ADD COLUMN gps_alt_m DOUBLE PRECISION;
ALTER TABLE images ADD COLUMN yaw_deg DOUBLE PRECISION;
ALTER TABLE images ADD COLUMN gimbal_pitch_deg DOUBLE PRECISION;
-- {"crs": "EPSG:32617", "transform": [x0, dx, rx, y0, ry, dy]}, or ''.
ALTER TABLE images ADD COLUMN georef TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN geo_note TEXT NOT NULL DEFAULT '';

-- The GSD the image was counted at and where it came from ("default": the
-- server's, the image had none), how its boxes were placed ("geotiff",
-- "nadir" or '' for none) and why not, and its footprint as a JSON ring
-- [[lon, lat], ...]. Each box in boxes carries lon and lat when placed.
ALTER TABLE counts ADD COLUMN gsd_m DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN gsd_source TEXT NOT NULL DEFAULT '';
ALTER TABLE counts ADD COLUMN positions TEXT NOT NULL DEFAULT '';
ALTER TABLE counts ADD COLUMN position_note TEXT NOT NULL DEFAULT '';
ALTER TABLE counts ADD COLUMN footprint TEXT NOT NULL DEFAULT '';
