package db_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
)

func TestSQLiteTime(t *testing.T)   { dbtest.RunTime(t, dbtest.SQLite) }
func TestPostgresTime(t *testing.T) { dbtest.RunTime(t, dbtest.PostgresSchema) }

// TestScanSpanBackfill: a database written before migration 0009 gets its
// scans' time spans and boxes from their images and counted footprints.
func TestScanSpanBackfill(t *testing.T) {
	for _, tc := range []struct {
		dialect db.Dialect
		driver  string
		url     func(t *testing.T) string
	}{
		{db.SQLite, "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "old.db") }},
		{db.Postgres, "pgx", func(t *testing.T) string { return dbtest.PostgresSchemaURL(t) }},
	} {
		t.Run(string(tc.dialect), func(t *testing.T) {
			u := tc.url(t)
			ms, err := db.Migrations(tc.dialect)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open(tc.driver, u)
			if err != nil {
				t.Fatal(err)
			}
			stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`}
			for _, m := range ms {
				if m.Version < 9 {
					stmts = append(stmts, m.SQL, `INSERT INTO schema_migrations VALUES (`+string(rune('0'+m.Version))+`, 'old', 'x')`)
				}
			}
			ts := func(s string) string { return "'2026-0" + s + "T10:00:00.000000Z'" }
			stmts = append(stmts,
				`INSERT INTO scans (scan_id, created_at) VALUES ('s', `+ts("3-01")+`), ('empty', `+ts("4-01")+`)`,
				`INSERT INTO images (item_id, captured_at, raw_key, received_at, scan_id, lon, lat) VALUES
					('i1', `+ts("1-05")+`, 'k1', `+ts("3-01")+`, 's', 5.0, 52.0),
					('i2', `+ts("1-02")+`, 'k2', `+ts("3-01")+`, 's', NULL, NULL)`,
				`INSERT INTO counts (item_id, count, counted_at, footprint) VALUES ('i2', 1, `+ts("3-01")+`, '[[4.9,51.9],[5.1,51.9],[5.1,52.1]]')`)
			for _, q := range stmts {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%.60s: %v", q, err)
				}
			}
			raw.Close()
			d, err := db.Open(context.Background(), u, nil)
			if err != nil {
				t.Fatalf("Open (upgrade): %v", err)
			}
			defer d.Close()
			ss, _, err := d.ListScans(context.Background(), db.ScanQuery{Oldest: true})
			if err != nil || len(ss) != 2 {
				t.Fatalf("ListScans: %+v, %v", ss, err)
			}
			s, empty := ss[0], ss[1]
			if s.ScanID != "s" || s.StartedAt.Format("01-02") != "01-02" || s.EndedAt.Format("01-02") != "01-05" ||
				s.BBox == nil || *s.BBox != (db.BBox{4.9, 51.9, 5.1, 52.1}) {
				t.Errorf("scan s after the upgrade: %+v, box %v", s, s.BBox)
			}
			if empty.StartedAt.Format("01-02") != "04-01" || empty.BBox != nil {
				t.Errorf("scan with no images: started %v, box %v; want its creation time, no box", empty.StartedAt, empty.BBox)
			}
		})
	}
}
