package recount

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/internal/digest"
)

// PutModel stores the ONNX model at path in the blob store, under its
// SHA-256, unless it is there, and returns the SHA-256.
func PutModel(ctx context.Context, blobs blob.Store, path string) (string, error) {
	sha, err := digest.File(path)
	if err != nil {
		return "", fmt.Errorf("model: %w", err)
	}
	key := blob.ModelKey(sha)
	if ok, err := blobs.Exists(ctx, blob.Processed, key); err != nil {
		return "", fmt.Errorf("model %s: %w", key, err)
	} else if ok {
		return sha, nil
	}
	if err := blob.PutFile(ctx, blobs, blob.Processed, key, path, "application/octet-stream"); err != nil {
		return "", fmt.Errorf("store model: %w", err)
	}
	return sha, nil
}

// Counters builds the counters recounts ask for, once each, fetching
// models from the blob store into a folder of its own.
type Counters struct {
	blobs blob.Store
	base  auto.Config // the library, provider, threads and GSD of every counter it builds
	dir   string
	log   *slog.Logger

	mu    sync.Mutex
	built map[string]count.Counter
}

// NewCounters returns a Counters that keeps fetched models in dir (made
// if missing) and builds counters configured as base (its method and model
// path are the job's).
func NewCounters(blobs blob.Store, base auto.Config, dir string, log *slog.Logger) *Counters {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Counters{blobs: blobs, base: base, dir: dir, log: log, built: map[string]count.Counter{}}
}

// Counter is the counter of method (auto, learned or classical; "" is
// learned with a model, auto without) and of the model with this SHA-256
// ("": the method's default model), built on first use.
func (c *Counters) Counter(ctx context.Context, method, sha string) (count.Counter, error) {
	if sha != "" && !blob.ValidSHA256(sha) {
		return nil, fmt.Errorf("model %q: not a SHA-256", sha)
	}
	if method == "" {
		method = auto.Auto
		if sha != "" {
			method = auto.Learned
		}
	}
	if sha != "" && method != auto.Learned {
		return nil, fmt.Errorf("method %s takes no model", method)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.built == nil {
		return nil, errors.New("counters closed")
	}
	key := method + "/" + sha
	if k, ok := c.built[key]; ok {
		return k, nil
	}
	cfg := c.base
	cfg.Method, cfg.ModelPath = method, ""
	if sha != "" {
		path, err := c.fetch(ctx, sha)
		if err != nil {
			return nil, err
		}
		cfg.ModelPath = path
	}
	k, err := auto.New(cfg, c.log)
	if err != nil {
		return nil, err
	}
	if got := k.Info().ModelSHA256; sha != "" && got != sha {
		k.Close()
		return nil, fmt.Errorf("model %s: the counter reports SHA-256 %s", sha, got)
	}
	c.log.Info("recount counter ready", "method", k.Info().Method, "model", k.Info().Model, "model_sha256", k.Info().ModelSHA256)
	c.built[key] = k
	return k, nil
}

// fetch copies the model from the blob store into the folder (once) and
// checks its SHA-256.
func (c *Counters) fetch(ctx context.Context, sha string) (string, error) {
	path := filepath.Join(c.dir, sha+".onnx")
	if got, err := digest.File(path); err == nil && got == sha {
		return path, nil
	}
	if err := os.MkdirAll(c.dir, 0o750); err != nil {
		return "", fmt.Errorf("model folder: %w", err)
	}
	tmp := path + ".part"
	if _, err := blob.GetFile(ctx, c.blobs, blob.Processed, blob.ModelKey(sha), tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("fetch model %s: %w", sha, err)
	}
	if got, err := digest.File(tmp); err != nil || got != sha {
		os.Remove(tmp)
		return "", fmt.Errorf("fetch model %s: the object's SHA-256 is %s (%v)", sha, got, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("fetch model %s: %w", sha, err)
	}
	return path, nil
}

// Close closes every counter built. It is idempotent.
func (c *Counters) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, k := range c.built {
		errs = append(errs, k.Close())
	}
	c.built = nil
	return errors.Join(errs...)
}
