package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Local is a Store over a folder: the object bucket/key is the file
// DIR/<bucket>/<key>. Content types are not stored; Get derives them from the
// key's extension. Temporary files are written beside their target under a
// name starting with ".tmp-" and are never listed.
type Local struct {
	dir string
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating it if needed) a local store rooted at dir.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("local blob store: empty folder name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local blob store %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local blob store: %w", err)
	}
	return &Local{dir: abs}, nil
}

// Dir is the store's root folder.
func (l *Local) Dir() string { return l.dir }

// Path is the file that holds bucket/key, after checking both.
func (l *Local) Path(bucket, key string) (string, error) {
	if err := validBucket(bucket); err != nil {
		return "", err
	}
	if err := ValidKey(key); err != nil {
		return "", err
	}
	if strings.HasPrefix(filepath.Base(key), ".tmp-") {
		return "", fmt.Errorf("%w: %q uses the reserved prefix .tmp-", ErrInvalidKey, key)
	}
	p := filepath.Join(l.dir, bucket, filepath.FromSlash(key))
	root := filepath.Join(l.dir, bucket) + string(filepath.Separator)
	if !strings.HasPrefix(p, root) { // belt and braces: ValidKey already refuses this
		return "", fmt.Errorf("%w: %q escapes the bucket", ErrInvalidKey, key)
	}
	return p, nil
}

// MakeBucket creates the bucket's folder.
func (l *Local) MakeBucket(_ context.Context, bucket string) error {
	if err := validBucket(bucket); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(l.dir, bucket), 0o755); err != nil {
		return fmt.Errorf("make bucket %q: %w", bucket, err)
	}
	return nil
}

// Put writes the object atomically: a temporary file in the same folder,
// fsync, rename over the target, fsync of the folder.
func (l *Local) Put(ctx context.Context, bucket, key string, data []byte, contentType string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := l.Path(bucket, key)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if err := l.put(p, data); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

func (l *Local) put(p string, data []byte) error {
	return l.putFrom(p, bytes.NewReader(data))
}

// putFrom writes the object at p from r: a temporary file beside it,
// fsynced, renamed over it, and the folder fsynced.
func (l *Local) putFrom(p string, r io.Reader) error {
	dir := filepath.Dir(p)
	if err := mkdirDurable(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// mkdirDurable creates dir and its missing parents, and fsyncs the folder
// holding each new one, so that a new object's path survives a power cut.
func mkdirDurable(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// Get reads the object.
func (l *Local) Get(ctx context.Context, bucket, key string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	p, err := l.Path(bucket, key)
	if err != nil {
		return nil, "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscallENOTDIR) || isDirErr(p) {
			return nil, "", fmt.Errorf("get %s/%s: %w", bucket, key, ErrNotFound)
		}
		return nil, "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return b, ContentType(key), nil
}

func isDirErr(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Exists reports whether the object is a regular file.
func (l *Local) Exists(ctx context.Context, bucket, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p, err := l.Path(bucket, key)
	if err != nil {
		return false, fmt.Errorf("exists %s/%s: %w", bucket, key, err)
	}
	st, err := os.Stat(p)
	switch {
	case err == nil:
		return st.Mode().IsRegular(), nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscallENOTDIR):
		return false, nil
	default:
		return false, fmt.Errorf("exists %s/%s: %w", bucket, key, err)
	}
}

// Delete removes the object and the folders it leaves empty.
func (l *Local) Delete(ctx context.Context, bucket, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := l.Path(bucket, key)
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	if isDirErr(p) {
		return nil // a "folder" is not an object
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscallENOTDIR) {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	// Remove emptied parent folders up to the bucket; failures are harmless.
	root := filepath.Join(l.dir, bucket)
	for d := filepath.Dir(p); d != root && strings.HasPrefix(d, root); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// List returns the keys under prefix, sorted. A missing bucket lists nothing.
func (l *Local) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := validBucket(bucket); err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	if err := validPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	root := filepath.Join(l.dir, bucket)
	// Walk only the deepest folder the prefix names completely.
	start := root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(root, filepath.FromSlash(prefix[:i]))
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscallENOTDIR) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		k := filepath.ToSlash(rel)
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// URL returns "": a local store's objects are served by the API itself.
func (l *Local) URL(ctx context.Context, bucket, key string, ttl time.Duration) (string, error) {
	if _, err := l.Path(bucket, key); err != nil {
		return "", fmt.Errorf("url %s/%s: %w", bucket, key, err)
	}
	return "", nil
}

// ContentType guesses a content type from the key's extension, for stores
// that keep none: "application/octet-stream" when unknown.
func ContentType(key string) string {
	ext := strings.ToLower(filepath.Ext(key))
	switch ext {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".tif", ".tiff":
		return "image/tiff"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
