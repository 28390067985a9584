// Package systemdtest checks the systemd units that the packages ship:
// the lines a unit promises, and systemd-analyze verify where it is
// installed. For tests only.
package systemdtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Check fails t when the unit file at path lacks one of the lines want
// (compared without surrounding space), or when `systemd-analyze verify`
// complains about anything but the unit's binary, which the build machine
// does not have installed.
func Check(t *testing.T, path string, want []string, binary string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("%s lacks the line %q", path, w)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("no systemd-analyze: syntax not verified")
		return
	}
	out, _ := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.Contains(l, binary) {
			t.Errorf("systemd-analyze verify %s: %s", path, l)
		}
	}
}
