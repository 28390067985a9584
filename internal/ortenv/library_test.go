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
