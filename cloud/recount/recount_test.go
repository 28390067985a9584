package recount_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/cloud/recount"
)

// TestCounters: a model stored with PutModel is fetched, checked and
// loaded by the workers' Counters; a corrupt object or a bad request is
// refused.
func TestCounters(t *testing.T) {
	ctx := t.Context()
	bs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blob.EnsureBuckets(ctx, bs)
	model := filepath.Join("..", "..", "models", auto.ModelFile)
	sha, err := recount.PutModel(ctx, bs, model)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := recount.PutModel(ctx, bs, model); err != nil || again != sha {
		t.Errorf("PutModel again: %s, %v", again, err)
	}
	cs := recount.NewCounters(bs, auto.Config{}, t.TempDir(), nil)
	defer cs.Close()
	for _, tc := range []struct{ method, sha, want string }{
		{"classical", sha, "takes no model"},
		{"learned", "abc", "not a SHA-256"},
		{"learned", strings.Repeat("0", 64), "fetch model"},
	} {
		if _, err := cs.Counter(ctx, tc.method, tc.sha); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Counter(%s, %.8s): %v, want an error with %q", tc.method, tc.sha, err, tc.want)
		}
	}
	c, err := cs.Counter(ctx, "", sha)
	if err != nil {
		t.Skipf("no learned counter here (%v): the model was fetched and checked only", err)
	}
	if c.Info().ModelSHA256 != sha || c.Info().Method != auto.Learned {
		t.Errorf("counter %+v, want the learned one with model %s", c.Info(), sha)
	}
	if again, _ := cs.Counter(ctx, auto.Learned, sha); again != c {
		t.Error("the counter was built twice")
	}
	// A corrupt object is refused, even once its file was fetched before.
	bad := strings.Repeat("1", 64)
	if err := bs.Put(ctx, blob.Processed, blob.ModelKey(bad), []byte("not a model"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Counter(ctx, "", bad); err == nil || !strings.Contains(err.Error(), "SHA-256 is") {
		t.Errorf("corrupt model: %v", err)
	}
}
