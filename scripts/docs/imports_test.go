package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/canopy-forest/canopy/"

// importRules are the rules of docs/architecture.md ("The rules the
// packages keep"): a package under from (other than those in except) never
// imports a package under any of never ("" = the whole module).
var importRules = []struct {
	from, except []string
	never        []string
}{
	{from: []string{"sync/wire"}, never: []string{""}},
	{from: []string{"sync/outbox", "sync/publish"}, never: []string{"agent", "cloud"}},
	{from: []string{"segment"}, never: []string{"agent", "cloud", "sync"}},
	{from: []string{"agent"}, never: []string{"cloud"}},
	{from: []string{"cloud"}, never: []string{"agent", "segment", "sync/outbox", "sync/publish"}},
	{from: []string{"internal"}, except: []string{"internal/fleet"}, never: []string{"agent", "cloud"}},
}

// under reports whether the module-relative package p is area or below it.
func under(p, area string) bool {
	return area == "" || p == area || strings.HasPrefix(p, area+"/")
}

func underAny(p string, areas []string) bool {
	for _, a := range areas {
		if under(p, a) {
			return true
		}
	}
	return false
}

// TestImportRules checks architecture.md's import rules on every package's
// imports (tests left out), with the cgo tags.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "opencv,onnx,proj",
		"-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		for _, r := range importRules {
			if !underAny(pkg, r.from) || underAny(pkg, r.except) {
				continue
			}
			for _, imp := range f[1:] {
				dep, ok := strings.CutPrefix(imp, module)
				if ok && underAny(dep, r.never) {
					t.Errorf("%s imports %s: architecture.md's rules forbid it", pkg, dep)
				}
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no package checked: go list said nothing")
	}
}
