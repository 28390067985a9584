package outbox

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// checkLimit is the largest file that Open checks page by page with
// tx.Check; larger files get the cheaper checks only (meta pages, buckets,
// counters, first record), so that start-up stays fast.
const checkLimit = 64 << 20

// lockTimeout is how long Open waits for another process to release the
// file's lock.
var lockTimeout = 2 * time.Second

// openDB opens the bbolt file at path, moving it aside and starting afresh
// when it is corrupt. bbolt is never used with NoSync.
func openDB(path string, log *slog.Logger) (*bolt.DB, error) {
	db, err := tryOpen(path)
	if err == nil {
		return db, nil
	}
	var ce *corruptError
	if !errors.As(err, &ce) {
		return nil, err
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if rerr := os.Rename(path, aside); rerr != nil {
		return nil, fmt.Errorf("move corrupt outbox aside (%v): %w", err, rerr)
	}
	log.Error("outbox file is corrupt: moved it aside and started an empty outbox; the items in it are not sent", "err", ce.err, "path", path, "moved_to", aside)
	db, err = tryOpen(path)
	if err != nil {
		return nil, fmt.Errorf("start a fresh outbox after moving the corrupt one to %s: %w", aside, err)
	}
	return db, nil
}

type corruptError struct{ err error }

func (e *corruptError) Error() string { return "corrupt outbox file: " + e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

// tryOpen opens and checks path. Errors that say the file is damaged are
// *corruptError; errors about the environment (locked by another process,
// no permission, no directory) are returned as they are.
func tryOpen(path string) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				closeQuietly(db)
			}
			db, err = nil, &corruptError{fmt.Errorf("bbolt panicked: %v", p)}
		}
	}()
	if st, serr := os.Stat(path); serr == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) || errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &corruptError{err}
	}
	if err := initDB(db); err != nil {
		closeQuietly(db)
		return nil, &corruptError{err}
	}
	if st, serr := os.Stat(path); serr == nil && st.Size() <= checkLimit {
		err := db.View(func(tx *bolt.Tx) error {
			var errs []error
			for e := range tx.Check() { // drain it all: the checker runs until done
				if len(errs) < 10 {
					errs = append(errs, e)
				}
			}
			return errors.Join(errs...)
		})
		if err != nil {
			closeQuietly(db)
			return nil, &corruptError{fmt.Errorf("consistency check: %w", err)}
		}
	}
	return db, nil
}

func closeQuietly(db *bolt.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// initDB creates the buckets of a new file and checks an existing one:
// its format version, and that its first record can be read.
func initDB(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketItems, bucketDead, bucketCursors, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		m := tx.Bucket(bucketMeta)
		switch v := m.Get(keyFormat); {
		case v == nil:
			if k, _ := tx.Bucket(bucketItems).Cursor().First(); k != nil {
				return fmt.Errorf("items without a format version")
			}
			if err := m.Put(keyFormat, []byte{formatVersion}); err != nil {
				return err
			}
		case len(v) == 1 && v[0] == 1:
			// An earlier release's file: its records stay as they are
			// (version 1, read as such); new ones are version 2.
			if err := m.Put(keyFormat, []byte{formatVersion}); err != nil {
				return err
			}
		case len(v) != 1 || v[0] != formatVersion:
			return fmt.Errorf("format version %v, want 1 or %d", v, formatVersion)
		}
		if k, v := tx.Bucket(bucketItems).Cursor().First(); k != nil {
			if _, err := decodeHead(v); err != nil {
				return fmt.Errorf("first record %s: %w", k, err)
			}
		}
		return nil
	})
}
