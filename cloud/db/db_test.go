package db_test

import (
	"context"
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
