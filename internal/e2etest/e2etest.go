// Package e2etest holds what the end-to-end tests share: finding the built
// binaries, running them and picking free loopback ports.
package e2etest

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Bin returns the path of the built binary name in $CANOPY_BIN (make test
// sets it to bin/ after make build). The test is skipped when CANOPY_BIN is
// unset and fails when it is set but the binary is not there.
func Bin(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("CANOPY_BIN")
	if dir == "" {
		t.Skip("CANOPY_BIN is not set (make test sets it to the folder of the built binaries)")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("CANOPY_BIN: %v (run make build)", err)
	}
	return p
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Run runs the binary bin with args and returns what it printed and its
// exit status; a binary that cannot be started fails the test.
func Run(t testing.TB, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}
