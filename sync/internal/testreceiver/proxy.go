package testreceiver

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections to a target. Its first Cuts connections are
// cut (both directions closed) once the client has sent CutAfter bytes,
// which lands in the middle of an MQTT publish when CutAfter is not a packet
// boundary.
type Proxy struct {
	ln       net.Listener
	target   string
	cutAfter int64
	cutsLeft atomic.Int64
	cuts     atomic.Int64
	wg       sync.WaitGroup
}

// StartProxy listens on 127.0.0.1 and forwards to target; it stops at the
// end of the test.
func StartProxy(t testing.TB, target string, cutAfter int64, cuts int) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, cutAfter: cutAfter}
	p.cutsLeft.Store(int64(cuts))
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

// URL is the proxy's tcp:// URL.
func (p *Proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// Cuts is the number of connections cut so far.
func (p *Proxy) Cuts() int { return int(p.cuts.Load()) }

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

func (p *Proxy) handle(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer u.Close()
	limit := int64(-1)
	if p.cutsLeft.Add(-1) >= 0 {
		limit = p.cutAfter
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
	go func() {
		if limit < 0 {
			_, _ = io.Copy(u, c)
		} else {
			if _, err := io.CopyN(u, c, limit); err == nil {
				p.cuts.Add(1)
			}
		}
		done <- struct{}{}
	}()
	<-done
	c.Close()
	u.Close()
	<-done
}
