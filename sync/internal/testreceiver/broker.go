package testreceiver

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is an in-process MQTT broker on 127.0.0.1 that allows every client.
type Broker struct {
	mu   sync.Mutex
	addr string // host:port, fixed after the first start
	srv  *mochi.Server
}

// StartBroker starts a broker on a free port and stops it at the end of the
// test.
func StartBroker(t testing.TB) *Broker {
	t.Helper()
	b := &Broker{addr: "127.0.0.1:0"}
	if err := b.Start(); err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Stop)
	return b
}

// URL is the broker's tcp:// URL.
func (b *Broker) URL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return "tcp://" + b.addr
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// Start starts the broker (again, on the same port). Sessions and retained
// messages of an earlier run are gone, as after a broker crash without
// persistence.
func (b *Broker) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return nil
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler), InlineClient: false})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return fmt.Errorf("add auth hook: %w", err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.addr})
	if err := srv.AddListener(l); err != nil {
		return fmt.Errorf("listen on %s: %w", b.addr, err)
	}
	b.addr = l.Address()
	if err := srv.Serve(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	b.srv = srv
	return nil
}

// Stop stops the broker and drops every connection.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv == nil {
		return
	}
	_ = b.srv.Close()
	b.srv = nil
}
