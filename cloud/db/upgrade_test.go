package db_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/cloud/db"
)

// TestUpgradeFromVersion1 opens a database written by a release that knew
// only migration 0001 (rows included): Open applies the later migrations
// (numbered with gaps) and the old rows read back with no ground data.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := db.Migrations(db.SQLite)
	if err != nil || ms[0].Version != 1 {
		t.Fatalf("migrations %v, %v", ms, err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	ts := "2026-01-02T03:04:05.000000Z"
	for _, q := range []string{
		ms[0].SQL,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 'init', '` + ts + `')`,
		`INSERT INTO images (item_id, device, captured_at, raw_key, received_at) VALUES ('old', 'dev', '` + ts + `', 'k', '` + ts + `')`,
		`INSERT INTO counts (item_id, count, boxes, counted_at) VALUES ('old', 1, '[{"xmin":1,"ymin":2,"xmax":3,"ymax":4,"score":0.5}]', '` + ts + `')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	raw.Close()
	d, err := db.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open (upgrade): %v", err)
	}
	defer d.Close()
	img, err := d.GetImage(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if img.GSD != 0 || img.GeoRef != nil || img.Count == nil || img.Count.Positions != "" || len(img.Count.Boxes) != 1 ||
		img.Count.Boxes[0].Lon != nil || img.Count.Boxes[0].XMax != 3 {
		t.Errorf("old row after the upgrade: %+v, count %+v", img, img.Count)
	}
	var n int
	d.SQL().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n)
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}
