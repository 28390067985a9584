package testreceiver

import (
	"testing"

	"github.com/canopy-forest/canopy/internal/tcpproxy"
)

// StartProxy starts a tcpproxy.Proxy to target whose first cuts
// connections are cut after cutAfter bytes from the client; it stops at
// the end of the test.
func StartProxy(t testing.TB, target string, cutAfter int64, cuts int) *tcpproxy.Proxy {
	t.Helper()
	p, err := tcpproxy.Start(target, cutAfter, cuts)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}
