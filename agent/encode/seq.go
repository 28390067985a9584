package encode

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// seqLease is how many sequence numbers are reserved on disk at a time, so
// that most items cost no write. A crash skips at most this many numbers;
// it never repeats one.
const seqLease = 64

// Seq hands out a per-device sequence number, from 1, that survives
// restarts: it is kept in a small file written atomically.
type Seq struct {
	path     string
	last     uint64 // last number handed out
	reserved uint64 // numbers up to this one are covered by the file
}

// OpenSeq reads the sequence file at path (a missing file starts at 1).
func OpenSeq(path string) (*Seq, error) {
	s := &Seq{path: path}
	b, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		return nil, fmt.Errorf("read sequence file: %w", err)
	default:
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sequence file %s: %w", path, err)
		}
		s.last, s.reserved = n, n
	}
	return s, nil
}

// Next returns the next sequence number.
func (s *Seq) Next() (uint64, error) {
	if s.last >= s.reserved {
		if err := writeAtomic(s.path, s.last+seqLease); err != nil {
			return 0, err
		}
		s.reserved = s.last + seqLease
	}
	s.last++
	return s.last, nil
}

// Last is the last number handed out (0 when none).
func (s *Seq) Last() uint64 { return s.last }

// Close records the last number handed out, so that a clean restart
// continues without a gap.
func (s *Seq) Close() error {
	if s.reserved == s.last {
		return nil
	}
	if err := writeAtomic(s.path, s.last); err != nil {
		return err
	}
	s.reserved = s.last
	return nil
}

// writeAtomic replaces path with n: temporary file, fsync, rename, fsync
// of the folder.
func writeAtomic(path string, n uint64) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write sequence file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".seq-*")
	if err != nil {
		return fmt.Errorf("write sequence file: %w", err)
	}
	_, err = tmp.WriteString(strconv.FormatUint(n, 10) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write sequence file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
