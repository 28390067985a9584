package digest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		body, want string
	}{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(tt.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := File(p); err != nil || got != tt.want {
			t.Errorf("File(%q) = %q, %v; want %q", tt.body, got, err, tt.want)
		}
	}
	if _, err := File(filepath.Join(dir, "none")); err == nil {
		t.Error("File of a missing file: no error")
	}
}
