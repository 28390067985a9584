package db

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
	"time"
)

// Migration numbers may have gaps (numbers reserved for changes still being
// written), and a number filled in later is applied even though a higher
// one already was.
func TestMigrationGaps(t *testing.T) {
	fsys := fstest.MapFS{
		"m/9001_init.sql":   {Data: []byte("CREATE TABLE gap_a (x INTEGER);")},
		"m/9005_later.sql":  {Data: []byte("CREATE TABLE gap_c (x INTEGER);")},
		"m/9002_second.sql": {Data: []byte("CREATE TABLE gap_b (x INTEGER);")},
		"m/README":          {Data: []byte("not a migration")},
	}
	ms, err := readMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, m := range ms {
		got = append(got, m.Version)
	}
	if want := []int{9001, 9002, 9005}; !reflect.DeepEqual(got, want) {
		t.Fatalf("versions %v, want %v", got, want)
	}
	for name, bad := range map[string]fstest.MapFS{
		"duplicate": {"m/0001_a.sql": {Data: []byte("")}, "m/1_b.sql": {Data: []byte("")}},
		"no number": {"m/init.sql": {Data: []byte("")}},
		"zero":      {"m/0000_init.sql": {Data: []byte("")}},
	} {
		if _, err := readMigrations(bad, "m"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}

	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "canopy.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Open applied the real migrations; then 9001 and 9005 (9002 not
	// written yet), then 9002 arrives.
	if err := d.migrate(ctx, []Migration{ms[0], ms[2]}); err != nil {
		t.Fatal(err)
	}
	if err := d.migrate(ctx, ms); err != nil {
		t.Fatalf("migrate with the gap filled: %v", err)
	}
	if err := d.migrate(ctx, ms); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	for _, table := range []string{"gap_a", "gap_b", "gap_c"} {
		if _, err := d.sql.ExecContext(ctx, "INSERT INTO "+table+" (x) VALUES (1)"); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	var n int
	if err := d.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version IN (9001, 9002, 9005)").Scan(&n); err != nil || n != 3 {
		t.Errorf("schema_migrations rows 9001, 9002, 9005: %d, %v; want 3", n, err)
	}
}

// A token made before migration 0005 (expiry, device, revocation) is, after
// it, an active, unbound token that never expires.
func TestTokenUpgrade(t *testing.T) {
	ctx := context.Background()
	all, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	var old []Migration
	for _, m := range all {
		if m.Version < 5 {
			old = append(old, m)
		}
	}
	d := &DB{dialect: SQLite, log: slog.New(slog.DiscardHandler), policy: DefaultJobPolicy}
	if d.sql, err = sql.Open("sqlite", sqliteDSN(filepath.Join(t.TempDir(), "canopy.db"))); err != nil {
		t.Fatal(err)
	}
	d.sql.SetMaxOpenConns(1)
	defer d.Close()
	if err := d.migrate(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := d.sql.ExecContext(ctx, `INSERT INTO tokens (hash, scope, name, created_at) VALUES ('old', 'write', 'ci', '2026-01-02T03:04:05.000000Z')`); err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := d.LookupToken(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	want := Token{Hash: "old", Scope: ScopeWrite, Name: "ci", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if !reflect.DeepEqual(tok, want) || tok.State(time.Now()) != TokenActive {
		t.Errorf("old token after the upgrade: %+v (%s), want %+v, active", tok, tok.State(time.Now()), want)
	}
}
