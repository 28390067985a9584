package db_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
)

func TestSQLite(t *testing.T) { dbtest.Run(t, dbtest.SQLite) }

// TestPostgres runs the suite with a schema of its own per subtest, in the
// test database (a database per subtest takes seconds each).
func TestPostgres(t *testing.T) { dbtest.Run(t, dbtest.PostgresSchema) }

// TestPostgresOwnDatabase migrates a database of its own, the way a
// deployment starts, from two processes at once.
func TestPostgresOwnDatabase(t *testing.T) {
	u := dbtest.PostgresURL(t)
	ctx := context.Background()
	errs := make(chan error, 2)
	dbs := make(chan *db.DB, 2)
	for i := 0; i < 2; i++ {
		go func() {
			d, err := db.Open(ctx, u, nil)
			errs <- err
			dbs <- d
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("Open: %v", err)
		}
		if d := <-dbs; d != nil {
			defer d.Close()
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for _, u := range []string{"", "sqlite://"} {
		if d, err := db.Open(context.Background(), u, nil); err == nil {
			d.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

// TestSQLitePaths opens files whose paths a URI could misread, and checks
// the pragmas took.
func TestSQLitePaths(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"with space/canopy.db", "per%cent/c.db", "hash#/c.db", "quest?ion/c.db", "deep/er/c.db"} {
		p := filepath.Join(t.TempDir(), name)
		for _, dsn := range []string{p, "sqlite://" + p} {
			d, err := db.Open(ctx, dsn, nil)
			if err != nil {
				t.Errorf("Open(%q): %v", dsn, err)
				continue
			}
			var mode string
			var busy int
			if err := d.SQL().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("%q: journal_mode = %q, %v; want wal", dsn, mode, err)
			}
			if err := d.SQL().QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy < 1000 {
				t.Errorf("%q: busy_timeout = %d, %v", dsn, busy, err)
			}
			d.Close()
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%q: the file is not at %s: %v", dsn, p, err)
			}
		}
	}
}
