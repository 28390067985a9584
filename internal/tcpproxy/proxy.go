// Package tcpproxy is a TCP forwarder that cuts connections on purpose:
// fault tests and the fleet harness put it between a device and its broker
// to drop the link in the middle of an MQTT publish.
package tcpproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Proxy forwards TCP connections to a target. Its first Cuts connections are
// cut (both directions closed) once the client has sent CutAfter bytes,
// which lands in the middle of an MQTT publish when CutAfter is not a packet
// boundary. Close stops it.
type Proxy struct {
	ln       net.Listener
	target   string
	cutAfter int64
	cutsLeft atomic.Int64
	cuts     atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// Start listens on a free loopback port and forwards to target.
func Start(target string, cutAfter int64, cuts int) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, cutAfter: cutAfter, conns: map[net.Conn]struct{}{}}
	p.cutsLeft.Store(int64(cuts))
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// URL is the proxy's tcp:// URL.
func (p *Proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// Cuts is the number of connections cut so far.
func (p *Proxy) Cuts() int { return int(p.cuts.Load()) }

// Close stops listening, closes the connections and waits for them.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

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

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) handle(c net.Conn) {
	defer p.wg.Done()
	p.track(c, true)
	defer p.track(c, false)
	defer c.Close()
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.track(u, true)
	defer p.track(u, false)
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
		} else if _, err := io.CopyN(u, c, limit); err == nil {
			p.cuts.Add(1)
		}
		done <- struct{}{}
	}()
	<-done
	c.Close()
	u.Close()
	<-done
}
