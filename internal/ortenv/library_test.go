package ortenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultLibrary(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, LibraryName)
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvLibrary, lib)
	if got := DefaultLibrary(); got != lib {
		t.Errorf("with %s=%s: got %q, want it", EnvLibrary, lib, got)
	}
	t.Setenv(EnvLibrary, filepath.Join(dir, "missing.so"))
	if got := DefaultLibrary(); got == filepath.Join(dir, "missing.so") {
		t.Errorf("a missing $%s was returned: %q", EnvLibrary, got)
	}
}

// An installed package keeps the library in ../lib/<binary name>/ beside
// the binary (/usr/bin/canopy-cloud: /usr/lib/canopy-cloud/).
func TestCandidatesPackageLib(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	want := filepath.Join(filepath.Dir(exe), "..", "lib", filepath.Base(exe), LibraryName)
	for _, c := range candidates() {
		if c == want {
			return
		}
	}
	t.Errorf("candidates %q lack %q", candidates(), want)
}
