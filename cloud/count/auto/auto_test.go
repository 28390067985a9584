package auto

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/cloud/count/classical"
)

func classicalAvailable() bool {
	_, err := classical.New(classical.Options{})
	return err == nil
}

func TestNew(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.onnx")
	for _, tc := range []struct {
		name       string
		c          Config
		wantMethod string // "" = an error is expected
	}{
		{"classical", Config{Method: Classical}, "classical"},
		{"auto without a model", Config{}, "classical"},
		{"learned without a model", Config{Method: Learned, ModelPath: missing}, ""},
		{"auto with a named model that is missing", Config{ModelPath: missing}, ""},
		{"bad method", Config{Method: "magic"}, ""},
		{"bad gsd", Config{GSD: -1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.wantMethod
			if want == "classical" && !classicalAvailable() {
				want = "" // built without opencv
			}
			k, err := New(tc.c, nil)
			if want == "" {
				if err == nil {
					k.Close()
					t.Fatalf("New(%+v) succeeded, want an error", tc.c)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%+v): %v", tc.c, err)
			}
			defer k.Close()
			if got := k.Info().Method; got != want {
				t.Errorf("method %q, want %q", got, want)
			}
		})
	}
}

func TestFindModel(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if p := FindModel(); p != "" {
		t.Fatalf("FindModel in an empty folder = %q", p)
	}
	os.Mkdir("models", 0o755)
	os.WriteFile(filepath.Join("models", ModelFile), []byte("x"), 0o644)
	if p := FindModel(); p != filepath.Join("models", ModelFile) {
		t.Errorf("FindModel = %q, want models/%s", p, ModelFile)
	}
}
