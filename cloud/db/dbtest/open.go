package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// SQLite opens a new SQLite database in t.TempDir(), closed at the end of
// the test.
func SQLite(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "canopy.db"), nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// PostgresURL creates a database canopy_test_<random> on the server of
// $CANOPY_TEST_POSTGRES and returns its URL; the database is dropped at the
// end of the test. The test is skipped when the variable is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u, name := tempObject(t, "database", "CREATE DATABASE %s", "DROP DATABASE IF EXISTS %s WITH (FORCE)")
	u.Path = "/" + name
	return u.String()
}

// PostgresSchemaURL creates a schema canopy_test_<random> in the database
// of $CANOPY_TEST_POSTGRES and returns a URL whose connections use it
// (search_path); the schema is dropped at the end of the test. It isolates
// tests as a database of their own does, in milliseconds rather than the
// second or two that CREATE DATABASE takes. Skips when the variable is unset.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	u, name := tempObject(t, "schema", "CREATE SCHEMA %s", "DROP SCHEMA IF EXISTS %s CASCADE")
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// tempObject creates a database object called canopy_test_<random> with the
// create statement on the server of $CANOPY_TEST_POSTGRES, drops it with the
// drop statement at the end of the test, and returns the server's URL and
// the name. The test is skipped when the variable is unset.
func tempObject(t testing.TB, kind, create, drop string) (*url.URL, string) {
	t.Helper()
	base := os.Getenv("CANOPY_TEST_POSTGRES")
	if base == "" {
		t.Skip("CANOPY_TEST_POSTGRES is not set: no PostgreSQL to test against")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	rand.Read(b[:])
	name := "canopy_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(create, name)); err != nil {
		admin.Close()
		t.Fatalf("create %s %s: %v", kind, name, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, fmt.Sprintf(drop, name)); err != nil {
			t.Errorf("drop %s %s: %v", kind, name, err)
		}
	})
	return u, name
}

// Postgres opens a new PostgreSQL database made by PostgresURL, closed
// (then dropped) at the end of the test.
func Postgres(t *testing.T) *db.DB {
	t.Helper()
	return openURL(t, PostgresURL(t))
}

// PostgresSchema opens a new schema made by PostgresSchemaURL, closed (then
// dropped) at the end of the test.
func PostgresSchema(t *testing.T) *db.DB {
	t.Helper()
	return openURL(t, PostgresSchemaURL(t))
}

func openURL(t testing.TB, u string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), u, nil)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
