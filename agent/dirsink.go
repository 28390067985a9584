package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/canopy-forest/canopy/sync/wire"
)

// DirSink writes each item to its own folder, DIR/<item id>/, holding
// meta.json, image.jpg and mask.png; the folder appears complete (it is
// written under a temporary name and renamed). Cursors are kept in
// DIR/cursors.json, written atomically after the item. A crash between the
// two can repeat one frame on restart; the outbox sink has no such window.
type DirSink struct {
	dir     string
	mu      sync.Mutex
	cursors map[string]string
}

// CursorsFile is the name of DirSink's cursor file.
const CursorsFile = "cursors.json"

// OpenDirSink opens (creating) the folder dir.
func OpenDirSink(dir string) (*DirSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open item folder: %w", err)
	}
	s := &DirSink{dir: dir, cursors: map[string]string{}}
	b, err := os.ReadFile(filepath.Join(dir, CursorsFile))
	switch {
	case os.IsNotExist(err):
	case err != nil:
		return nil, fmt.Errorf("open item folder: %w", err)
	default:
		if err := json.Unmarshal(b, &s.cursors); err != nil {
			return nil, fmt.Errorf("open item folder: %s: %w", CursorsFile, err)
		}
	}
	return s, nil
}

// Dir returns the folder.
func (s *DirSink) Dir() string { return s.dir }

// partFile names a part's file.
func partFile(p wire.Part) string {
	switch p.ContentType {
	case "image/jpeg":
		return p.Name + ".jpg"
	case "image/png":
		return p.Name + ".png"
	}
	return p.Name + ".bin"
}

// Put writes the item's folder, then records cur.
func (s *DirSink) Put(ctx context.Context, it wire.Item, cur Cursor) error {
	if id := it.Meta.ItemID; wire.ValidDevice(id) != nil || id == "." || id == ".." {
		return fmt.Errorf("put item: bad item id %q", it.Meta.ItemID)
	}
	tmp, err := os.MkdirTemp(s.dir, ".tmp-"+it.Meta.ItemID+"-")
	if err != nil {
		return fmt.Errorf("put item %s: %w", it.Meta.ItemID, err)
	}
	if err := writeItem(tmp, it); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("put item %s: %w", it.Meta.ItemID, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, it.Meta.ItemID)); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("put item %s: %w", it.Meta.ItemID, err)
	}
	return s.Advance(ctx, cur)
}

func writeItem(dir string, it wire.Item) error {
	meta, err := json.MarshalIndent(it.Meta, "", "  ")
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(dir, "meta.json"), append(meta, '\n')); err != nil {
		return err
	}
	for _, p := range it.Parts {
		if err := writeSynced(filepath.Join(dir, partFile(p)), p.Data); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// Advance records cur (a zero cursor records nothing).
func (s *DirSink) Advance(ctx context.Context, cur Cursor) error {
	if cur == (Cursor{}) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cursors[cur.Source] == cur.Position {
		return nil
	}
	s.cursors[cur.Source] = cur.Position
	b, err := json.MarshalIndent(s.cursors, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, CursorsFile)
	if err := writeSynced(path+".tmp", b); err != nil {
		return fmt.Errorf("record cursor: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("record cursor: %w", err)
	}
	return syncDir(s.dir)
}

// Cursor returns the last position recorded for source.
func (s *DirSink) Cursor(source string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursors[source], nil
}

// Close does nothing; every Put is already on disk.
func (s *DirSink) Close() error { return nil }

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
