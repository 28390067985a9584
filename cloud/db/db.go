package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// Dialect is the SQL flavour of a database.
type Dialect string

// Dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is an open database. Its methods are safe for concurrent use.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	log     *slog.Logger

	mu     sync.Mutex
	policy JobPolicy
}

// Open opens the database at dsn and brings its schema up to date.
// "postgres://..." or "postgresql://..." is PostgreSQL through pgx; a
// file path, "sqlite://PATH" or "sqlite:PATH" is a SQLite file (created, with
// its folder, if missing). A nil log discards.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &DB{log: log, policy: DefaultJobPolicy}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		d.dialect = Postgres
		d.sql, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// As many idle connections as open ones: a receiver's storage
		// workers, status writer and HTTP handlers use more than 4 at once,
		// and each connection closed and opened again costs PostgreSQL a
		// backend process. Unused ones close after a minute.
		d.sql.SetMaxOpenConns(16)
		d.sql.SetMaxIdleConns(16)
		d.sql.SetConnMaxIdleTime(time.Minute)
	case dsn == "":
		return nil, errors.New("open database: empty URL")
	default:
		path, _ := SQLitePath(dsn)
		if path == "" {
			return nil, fmt.Errorf("open database %q: no file name", dsn)
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("open sqlite %q: %w", path, err)
			}
		}
		d.dialect = SQLite
		d.sql, err = sql.Open("sqlite", sqliteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %q: %w", path, err)
		}
		// One connection: SQLite has one writer, and serialising in Go
		// never meets SQLITE_BUSY inside the process.
		d.sql.SetMaxOpenConns(1)
	}
	if err := d.sql.PingContext(ctx); err != nil {
		d.sql.Close()
		return nil, fmt.Errorf("open %s database: %w", d.dialect, err)
	}
	if err := d.Migrate(ctx); err != nil {
		d.sql.Close()
		return nil, err
	}
	return d, nil
}

// SQLitePath is the file of a SQLite database URL (a path, "sqlite://PATH"
// or "sqlite:PATH"); ok is false for a PostgreSQL URL.
func SQLitePath(dsn string) (path string, ok bool) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "", false
	}
	return strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:"), true
}

// sqliteDSN: WAL, a busy timeout for other processes, full sync (a commit
// survives a power cut: ingest acknowledges after it), foreign keys, and
// every transaction BEGIN IMMEDIATE so that a read never has to be upgraded
// to a write.
func sqliteDSN(path string) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(FULL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Set("_txlock", "immediate")
	// The path as a URI path: SQLite decodes %XX, and '?' or '#' would end it.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?" + v.Encode()
}

// Dialect is the database's SQL flavour.
func (d *DB) Dialect() Dialect { return d.dialect }

// SQL is the underlying handle, for tests and tools.
func (d *DB) SQL() *sql.DB { return d.sql }

// SetJobPolicy changes how failed jobs are retried.
func (d *DB) SetJobPolicy(p JobPolicy) {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultJobPolicy.MaxAttempts
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultJobPolicy.MaxBackoff
	}
	d.mu.Lock()
	d.policy = p
	d.mu.Unlock()
}

func (d *DB) jobPolicy() JobPolicy {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.policy
}

// Close closes the database. It is idempotent.
func (d *DB) Close() error {
	return d.sql.Close()
}
