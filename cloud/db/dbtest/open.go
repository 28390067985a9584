package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
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
	base := os.Getenv("CANOPY_TEST_POSTGRES")
	if base == "" {
		t.Skip("CANOPY_TEST_POSTGRES is not set: no PostgreSQL to test against")
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
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
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
	base := os.Getenv("CANOPY_TEST_POSTGRES")
	if base == "" {
		t.Skip("CANOPY_TEST_POSTGRES is not set: no PostgreSQL to test against")
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
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
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
