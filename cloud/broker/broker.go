package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultAddr is the address the embedded broker listens on by default.
const DefaultAddr = "127.0.0.1:1883"

// ErrAddrInUse reports that the listen address is taken by another process.
var ErrAddrInUse = errors.New("address already in use")

// Config configures the embedded broker.
type Config struct {
	Addr        string // host:port; "" means DefaultAddr; port 0 picks a free one
	AllowRemote bool   // accept clients from non-loopback addresses (no password check)
}

// Broker is an in-process MQTT broker. Create it with New and serve with Run.
type Broker struct {
	srv *mqtt.Server
	ln  net.Listener
	log *slog.Logger
}

// New binds the listener and prepares the broker. A taken port fails at once
// with an error that wraps ErrAddrInUse.
func New(c Config, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := c.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("embedded MQTT broker: %s is already in use (another broker such as Mosquitto may be running there): choose a free address with --mqtt-listen 127.0.0.1:PORT, or use that broker with --broker tcp://%s: %w", addr, addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("embedded MQTT broker: listen on %s: %w", addr, err)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", "broker"),
		// Keep $SYS quiet: the defaults publish every second.
		SysTopicResendInterval: 60,
	})
	if err := srv.AddHook(&authHook{allowRemote: c.AllowRemote}, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded MQTT broker: add auth hook: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded MQTT broker: add listener: %w", err)
	}
	return &Broker{srv: srv, ln: ln, log: log}, nil
}

// Addr is the address the broker listens on (with the real port when the
// configured port was 0).
func (b *Broker) Addr() string { return b.ln.Addr().String() }

// URL is the broker's address as an MQTT client URL, "tcp://host:port".
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Run serves clients until ctx ends, then closes the broker.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.srv.Serve(); err != nil {
		b.srv.Close()
		return fmt.Errorf("embedded MQTT broker: serve: %w", err)
	}
	b.log.Info("embedded MQTT broker listening", "addr", b.Addr())
	<-ctx.Done()
	if err := b.srv.Close(); err != nil {
		return fmt.Errorf("embedded MQTT broker: close: %w", err)
	}
	return nil
}

// authHook allows loopback clients (and every client when allowRemote).
type authHook struct {
	mqtt.HookBase
	allowRemote bool
}

func (h *authHook) ID() string { return "canopy-auth" }

func (h *authHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	return h.allowRemote || isLoopback(cl.Net.Remote)
}

func (h *authHook) OnACLCheck(*mqtt.Client, string, bool) bool { return true }

func isLoopback(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		// Unix sockets and pipes (net.Pipe in tests) are local.
		return remote == "" || remote == "pipe" || remote == "@"
	}
	return ap.Addr().Unmap().IsLoopback()
}

// minLevel drops the broker's records below min (mochi logs every client
// connection at Info).
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// Handle drops mochi's warnings about connections it closed itself on
// shutdown ("use of closed network connection"), which are not problems.
func (h minLevel) Handle(ctx context.Context, r slog.Record) error {
	noise := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" && strings.Contains(a.Value.String(), "use of closed network connection") {
			noise = true
			return false
		}
		return true
	})
	if noise {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }
