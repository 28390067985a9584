package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations of dialect in order. Numbers
// may have gaps (a number is reserved for a change still being written);
// only a number used twice is an error.
func Migrations(dialect Dialect) ([]Migration, error) {
	return readMigrations(migrationFS, path.Join("migrations", string(dialect)))
}

// readMigrations reads the NNNN_name.sql files of dir in fsys, by number.
func readMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(n, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name is not NNNN_name.sql", n)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", n, err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("two migrations numbered %d", ms[i].Version)
		}
	}
	return ms, nil
}

// migrationLockKey is the PostgreSQL advisory lock taken while migrating
// (an arbitrary constant: "canopy" in ASCII).
const migrationLockKey = 0x63616e6f7079

// Migrate applies the embedded migrations not yet recorded, all in one
// transaction. Open calls it; calling it again is a no-op, and on PostgreSQL
// concurrent callers (other processes included) take turns. What is applied
// is decided by number, not by the highest number recorded: a migration
// whose number lies below one already applied (a gap filled later, when
// branches merge) is applied too.
func (d *DB) Migrate(ctx context.Context) error {
	ms, err := Migrations(d.dialect)
	if err != nil {
		return err
	}
	return d.migrate(ctx, ms)
}

// migrate applies those of ms (in order) that schema_migrations does not
// record.
func (d *DB) migrate(ctx context.Context, ms []Migration) error {
	if len(ms) == 0 {
		return nil
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if d.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	n := 0
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, d.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
			m.Version, m.Name, formatTime(now())); err != nil {
			return fmt.Errorf("migration %04d_%s: record: %w", m.Version, m.Name, err)
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	if n > 0 {
		d.log.Info("database migrated", "dialect", string(d.dialect), "applied", n, "version", ms[len(ms)-1].Version)
	}
	return nil
}
