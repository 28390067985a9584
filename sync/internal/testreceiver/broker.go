package testreceiver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Broker is an in-process MQTT broker on 127.0.0.1. It has two listeners:
// one for devices (URL) and one for the cloud side (CloudURL), so that a
// restart can let the receiver back in before the devices, as a persistent
// broker with a persistent subscriber would (an in-process broker forgets
// its sessions when it stops).
//
// Identity is on for devices, as on the cloud's embedded broker: a client
// of the device listener must log in as a device (its id and Password(id))
// and may publish only on its own item and status topics and subscribe
// only to its own acks. The cloud listener lets every client in (it plays
// the cloud, and in forged-ack tests, whoever else holds the broker).
type Broker struct {
	mu              sync.Mutex
	addr, cloudAddr string // host:port, fixed after the first start
	srv             *mochi.Server
}

// StartBroker starts a broker on free ports and stops it at the end of the
// test.
func StartBroker(t testing.TB) *Broker {
	t.Helper()
	b := &Broker{addr: "127.0.0.1:0", cloudAddr: "127.0.0.1:0"}
	if err := b.Start(); err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Stop)
	return b
}

// URL is the devices' tcp:// URL.
func (b *Broker) URL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return "tcp://" + b.addr
}

// Addr is the devices' host:port.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// CloudURL is the cloud side's tcp:// URL.
func (b *Broker) CloudURL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return "tcp://" + b.cloudAddr
}

// Start starts the broker (again, on the same ports).
func (b *Broker) Start() error { return b.StartStaged(nil) }

// StartStaged starts the broker (again, on the same ports) with only the
// cloud listener, calls between (when not nil), then opens the device
// listener. Sessions and retained messages of an earlier run are gone, as
// after a broker crash without persistence.
func (b *Broker) StartStaged(between func()) error {
	b.mu.Lock()
	if b.srv != nil {
		b.mu.Unlock()
		return nil
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(deviceAuth), nil); err != nil {
		b.mu.Unlock()
		return fmt.Errorf("add auth hook: %w", err)
	}
	cloud := listeners.NewTCP(listeners.Config{ID: "cloud", Address: b.cloudAddr})
	if err := srv.AddListener(cloud); err != nil {
		b.mu.Unlock()
		return fmt.Errorf("listen on %s: %w", b.cloudAddr, err)
	}
	b.cloudAddr = cloud.Address()
	if err := srv.Serve(); err != nil {
		b.mu.Unlock()
		return fmt.Errorf("serve: %w", err)
	}
	b.srv = srv
	b.mu.Unlock()
	if between != nil {
		between()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	dev := listeners.NewTCP(listeners.Config{ID: "device", Address: b.addr})
	if err := srv.AddListener(dev); err != nil {
		return fmt.Errorf("listen on %s: %w", b.addr, err)
	}
	b.addr = dev.Address()
	srv.Listeners.Serve("device", srv.EstablishConnection)
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

// Password is the MQTT password of device on a test Broker.
func Password(device string) string {
	s := sha256.Sum256([]byte("canopy test device " + device))
	return hex.EncodeToString(s[:12])
}

// deviceAuth checks the clients of the device listener.
type deviceAuth struct{ mochi.HookBase }

func (h *deviceAuth) ID() string { return "testreceiver-device-auth" }

func (h *deviceAuth) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (h *deviceAuth) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	if cl.Net.Listener != "device" {
		return true
	}
	user := string(pk.Connect.Username)
	return user != "" && string(pk.Connect.Password) == Password(user)
}

func (h *deviceAuth) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if cl.Net.Listener != "device" {
		return true
	}
	parts := strings.Split(topic, "/")
	if len(parts) < 4 || parts[len(parts)-3] != "v1" || parts[len(parts)-2] != string(cl.Properties.Username) {
		return false
	}
	kind := parts[len(parts)-1]
	if write {
		return kind == "item" || kind == "status" || kind == "fetch"
	}
	return kind == "ack" || kind == "desired" || kind == "artifact"
}
