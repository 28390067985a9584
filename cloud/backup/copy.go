package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/canopy-forest/canopy/cloud/blob"
)

// mirror makes bucket of to hold what it holds in from: objects missing
// from to are copied (every object, unless keep is set: then objects
// already in to are left as they are), and objects of to that from lacks
// are removed. It returns the number of objects in from. Objects go
// through a temporary file in tmp.
func mirror(ctx context.Context, from, to blob.Store, bucket string, keep bool, tmp string) (int, error) {
	src, err := from.List(ctx, bucket, "")
	if err != nil {
		return 0, err
	}
	dst, err := to.List(ctx, bucket, "")
	if err != nil {
		return 0, err
	}
	there := make(map[string]bool, len(dst))
	for _, k := range dst {
		there[k] = true
	}
	f, err := os.CreateTemp(tmp, ".object-")
	if err != nil {
		return 0, err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	for _, k := range src {
		if keep && there[k] {
			delete(there, k)
			continue
		}
		delete(there, k)
		ct, err := blob.GetFile(ctx, from, bucket, k, path)
		if err != nil {
			return 0, err
		}
		if err := blob.PutFile(ctx, to, bucket, k, path, ct); err != nil {
			return 0, err
		}
	}
	for k := range there {
		if err := to.Delete(ctx, bucket, k); err != nil {
			return 0, err
		}
	}
	return len(src), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".part"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".part")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// run runs a PostgreSQL client tool.
func run(ctx context.Context, tool string, args ...string) error {
	if _, err := exec.LookPath(tool); err != nil {
		return fmt.Errorf("%s is not installed (Debian: postgresql-client): %w", tool, err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", tool, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// redact hides the password of a database URL.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
