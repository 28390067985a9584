package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// Files of a backup folder.
const (
	ManifestFile = "backup.json"
	SQLiteFile   = "canopy.db"
	PostgresFile = "canopy.pgdump"
	BlobsDir     = "blobs"
)

// Manifest is backup.json.
type Manifest struct {
	Version   int            `json:"version"` // 1
	CreatedAt time.Time      `json:"created_at"`
	Dialect   db.Dialect     `json:"dialect"`  // of the database
	Database  string         `json:"database"` // its file in the folder
	Objects   map[string]int `json:"objects"`  // per bucket
}

// ErrNotEmpty is returned by Restore when the database or the blob store
// to restore into holds data already.
var ErrNotEmpty = errors.New("not empty: restore into a new database and blob store")

// Save writes a backup of the database d (opened from dsn) and of blobs
// into dir (made if missing). A folder that holds an earlier backup is
// brought up to date: objects already there are not copied again (raw
// objects never change under a key; processed ones are copied every time)
// and objects no longer stored are removed from it.
func Save(ctx context.Context, d *db.DB, dsn string, blobs blob.Store, dir string, log *slog.Logger) (Manifest, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Manifest{}, fmt.Errorf("backup folder: %w", err)
	}
	_ = os.Remove(filepath.Join(dir, ManifestFile)) // unfinished until written again
	m := Manifest{Version: 1, CreatedAt: time.Now().UTC(), Dialect: d.Dialect(), Objects: map[string]int{}}
	var err error
	if m.Database, err = saveDatabase(ctx, d, dsn, dir); err != nil {
		return Manifest{}, fmt.Errorf("database: %w", err)
	}
	log.Info("database saved", "file", filepath.Join(dir, m.Database))
	local, err := blob.NewLocal(filepath.Join(dir, BlobsDir))
	if err != nil {
		return Manifest{}, fmt.Errorf("backup folder: %w", err)
	}
	if err := blob.EnsureBuckets(ctx, local); err != nil {
		return Manifest{}, fmt.Errorf("backup folder: %w", err)
	}
	for _, b := range blob.Buckets {
		n, err := mirror(ctx, blobs, local, b, b == blob.Raw, dir)
		if err != nil {
			return Manifest{}, fmt.Errorf("bucket %s: %w", b, err)
		}
		m.Objects[b] = n
	}
	log.Info("objects saved", "objects", m.Objects)
	if err := writeJSON(filepath.Join(dir, ManifestFile), m); err != nil {
		return Manifest{}, fmt.Errorf("backup folder: %w", err)
	}
	return m, nil
}

// saveDatabase writes the database into dir and returns its file name.
func saveDatabase(ctx context.Context, d *db.DB, dsn, dir string) (string, error) {
	name := SQLiteFile
	if d.Dialect() == db.Postgres {
		name = PostgresFile
	}
	final := filepath.Join(dir, name)
	tmp := final + ".part"
	_ = os.Remove(tmp)
	if d.Dialect() == db.SQLite {
		if _, err := d.SQL().ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
			return "", fmt.Errorf("VACUUM INTO: %w", err)
		}
	} else if err := run(ctx, "pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", tmp, "--dbname", dsn); err != nil {
		return "", err
	}
	return name, os.Rename(tmp, final)
}

// Restore restores the backup in dir into the database at dsn and into
// blobs, both new and empty (else ErrNotEmpty), then brings the database's
// schema up to date (a backup of an older release).
func Restore(ctx context.Context, dir, dsn string, blobs blob.Store, log *slog.Logger) (Manifest, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, fmt.Errorf("%w (a folder without %s is not a finished backup)", err, ManifestFile)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Version != 1 || (m.Dialect != db.SQLite && m.Dialect != db.Postgres) {
		return Manifest{}, fmt.Errorf("%s is not a backup manifest of version 1 (%v)", ManifestFile, err)
	}
	if err := blob.EnsureBuckets(ctx, blobs); err != nil {
		return Manifest{}, fmt.Errorf("blob store: %w", err)
	}
	if err := emptyStore(ctx, blobs); err != nil {
		return Manifest{}, fmt.Errorf("blob store: %w", err)
	}
	if err := restoreDatabase(ctx, m, dir, dsn); err != nil {
		return Manifest{}, fmt.Errorf("database: %w", err)
	}
	log.Info("database restored", "dialect", m.Dialect)
	local, err := blob.NewLocal(filepath.Join(dir, BlobsDir))
	if err != nil {
		return Manifest{}, fmt.Errorf("backup folder: %w", err)
	}
	for _, bk := range blob.Buckets {
		if _, err := mirror(ctx, local, blobs, bk, true, dir); err != nil {
			return Manifest{}, fmt.Errorf("bucket %s: %w", bk, err)
		}
	}
	log.Info("objects restored", "objects", m.Objects)
	d, err := db.Open(ctx, dsn, log)
	if err != nil {
		return Manifest{}, fmt.Errorf("open the restored database: %w", err)
	}
	return m, d.Close()
}

func restoreDatabase(ctx context.Context, m Manifest, dir, dsn string) error {
	src := filepath.Join(dir, m.Database)
	path, isSQLite := db.SQLitePath(dsn)
	switch {
	case isSQLite != (m.Dialect == db.SQLite):
		return fmt.Errorf("the backup is of a %s database; %s is not one", m.Dialect, redact(dsn))
	case isSQLite:
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: %w", path, ErrNotEmpty)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return err
		}
		return copyFile(src, path)
	}
	// PostgreSQL: the database must exist (CREATE DATABASE) and have no
	// Canopy schema in it.
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	var table sql.NullString
	if err := conn.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations')::text`).Scan(&table); err != nil {
		return fmt.Errorf("look into %s: %w", redact(dsn), err)
	}
	if table.Valid {
		return fmt.Errorf("%s has a Canopy schema: %w", redact(dsn), ErrNotEmpty)
	}
	return run(ctx, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", dsn, src)
}

// emptyStore fails unless the store's buckets hold no object.
func emptyStore(ctx context.Context, s blob.Store) error {
	for _, b := range blob.Buckets {
		keys, err := s.List(ctx, b, "")
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			return fmt.Errorf("bucket %s holds %d objects: %w", b, len(keys), ErrNotEmpty)
		}
	}
	return nil
}
