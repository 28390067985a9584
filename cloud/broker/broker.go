package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/canopy-forest/canopy/cloud/identity"
)

// DefaultAddr is the address the embedded broker listens on by default.
const DefaultAddr = "127.0.0.1:1883"

// ErrAddrInUse reports that the listen address is taken by another process.
var ErrAddrInUse = errors.New("address already in use")

// Client-certificate modes of the TLS listener (Config.ClientCerts).
const (
	ClientCertsOff      = "off"      // no client certificates: username and password
	ClientCertsOptional = "optional" // a certificate signed by ClientCA identifies its client; else a password
	ClientCertsRequire  = "require"  // every TLS client presents a certificate signed by ClientCA
)

// Config configures the embedded broker.
type Config struct {
	Addr        string // host:port; "" means DefaultAddr; port 0 picks a free one
	AllowRemote bool   // accept clients from non-loopback addresses on Addr (they still authenticate)

	// Registry and Policy enforce identity: every client authenticates as
	// a registered device, receiver or producer (or one of this process's
	// own identities) and may only use the topics Policy gives its role.
	Registry *identity.Registry
	Policy   identity.Policy
	// Anonymous, for tests of other packages only, lets every loopback
	// client in without a password and allows every topic.
	Anonymous bool

	// TLSAddr, when set, adds a TLS listener (for devices in the field)
	// with the certificate TLSCert; ClientCerts says whether clients show
	// certificates signed by ClientCA.
	TLSAddr     string
	TLSCert     *tls.Certificate
	ClientCerts string
	ClientCA    *x509.CertPool
}

// Broker is an in-process MQTT broker. Create it with New and serve with Run.
type Broker struct {
	srv   *mqtt.Server
	ln    net.Listener
	tlsLn net.Listener
	log   *slog.Logger
	auth  *authHook
}

// New binds the listener and prepares the broker. A taken port fails at once
// with an error that wraps ErrAddrInUse.
func New(c Config, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil && !c.Anonymous {
		return nil, errors.New("embedded MQTT broker: no identity registry")
	}
	switch c.ClientCerts {
	case "":
		c.ClientCerts = ClientCertsOff
	case ClientCertsOff, ClientCertsOptional, ClientCertsRequire:
	default:
		return nil, fmt.Errorf("embedded MQTT broker: client certificates %q: want off, optional or require", c.ClientCerts)
	}
	if c.ClientCerts != ClientCertsOff && c.ClientCA == nil {
		return nil, errors.New("embedded MQTT broker: client certificates need the device CA")
	}
	if c.TLSAddr != "" && c.TLSCert == nil {
		return nil, errors.New("embedded MQTT broker: a TLS listener needs a certificate and key (--tls-cert, --tls-key)")
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
	auth := &authHook{cfg: c, log: log.With("component", "broker"), who: map[*mqtt.Client]identity.Principal{}}
	if err := srv.AddHook(auth, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded MQTT broker: add auth hook: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded MQTT broker: add listener: %w", err)
	}
	b := &Broker{srv: srv, ln: ln, log: log, auth: auth}
	if c.TLSAddr != "" {
		tln, err := net.Listen("tcp", c.TLSAddr)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("embedded MQTT broker: TLS listen on %s: %w", c.TLSAddr, err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{*c.TLSCert}, MinVersion: tls.VersionTLS12, ClientCAs: c.ClientCA}
		switch c.ClientCerts {
		case ClientCertsOptional:
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		case ClientCertsRequire:
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
		b.tlsLn = tls.NewListener(tln, tc)
		if err := srv.AddListener(listeners.NewNet("tls", b.tlsLn)); err != nil {
			ln.Close()
			tln.Close()
			return nil, fmt.Errorf("embedded MQTT broker: add TLS listener: %w", err)
		}
	}
	return b, nil
}

// TLSAddr is the address of the TLS listener ("" without one).
func (b *Broker) TLSAddr() string {
	if b.tlsLn == nil {
		return ""
	}
	return b.tlsLn.Addr().String()
}

// Revoke disconnects the clients connected as any of names (identities
// revoked in the registry); they are refused from then on.
func (b *Broker) Revoke(names []string) {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	for _, cl := range b.srv.Clients.GetAll() {
		p, ok := b.auth.principal(cl)
		if !ok || !set[p.Name] {
			continue
		}
		b.log.Warn("disconnecting a revoked identity", "component", "broker", "username", p.Name, "client_id", cl.ID, "remote", cl.Net.Remote)
		_ = b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
	}
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
	b.log.Info("embedded MQTT broker listening", "addr", b.Addr(), "tls_addr", b.TLSAddr(), "client_certs", b.auth.cfg.ClientCerts, "identity", !b.auth.cfg.Anonymous)
	<-ctx.Done()
	if err := b.srv.Close(); err != nil {
		return fmt.Errorf("embedded MQTT broker: close: %w", err)
	}
	return nil
}

// authHook authenticates every client against the registry (or lets
// loopback clients in, with Config.Anonymous) and applies the policy to
// every publish, subscription and delivery.
type authHook struct {
	mqtt.HookBase
	cfg Config
	log *slog.Logger

	mu  sync.Mutex
	who map[*mqtt.Client]identity.Principal
}

func (h *authHook) ID() string { return "canopy-auth" }

func (h *authHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck || b == mqtt.OnDisconnect
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	tc, viaTLS := cl.Net.Conn.(*tls.Conn)
	if !viaTLS && !h.cfg.AllowRemote && !isLoopback(cl.Net.Remote) {
		h.refuse(cl, string(pk.Connect.Username), "not a loopback address (start with --mqtt-allow-remote, or use the TLS listener)")
		return false
	}
	if h.cfg.Anonymous {
		return true
	}
	user, pass := string(pk.Connect.Username), string(pk.Connect.Password)
	if viaTLS {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			cn := certs[0].Subject.CommonName
			if user != "" && user != cn {
				h.refuse(cl, user, fmt.Sprintf("username %q is not the certificate's name %q", user, cn))
				return false
			}
			p, err := h.cfg.Registry.Known(cn)
			if err != nil {
				h.refuse(cl, cn, "client certificate: "+err.Error())
				return false
			}
			return h.accept(cl, p)
		}
		if h.cfg.ClientCerts == ClientCertsRequire {
			h.refuse(cl, user, "no client certificate")
			return false
		}
	}
	p, err := h.cfg.Registry.Authenticate(user, pass)
	if err != nil {
		h.refuse(cl, user, err.Error())
		return false
	}
	return h.accept(cl, p)
}

func (h *authHook) accept(cl *mqtt.Client, p identity.Principal) bool {
	h.mu.Lock()
	h.who[cl] = p
	h.mu.Unlock()
	h.log.Debug("mqtt client authenticated", "username", p.Name, "role", p.Role, "client_id", cl.ID, "remote", cl.Net.Remote)
	return true
}

func (h *authHook) refuse(cl *mqtt.Client, user, why string) {
	h.log.Warn("mqtt client refused", "username", user, "client_id", cl.ID, "remote", cl.Net.Remote, "reason", why)
}

func (h *authHook) principal(cl *mqtt.Client) (identity.Principal, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.who[cl]
	return p, ok
}

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if h.cfg.Anonymous {
		return true
	}
	p, ok := h.principal(cl)
	if ok && h.cfg.Policy.Allow(p, topic, write) {
		return true
	}
	verb := "read"
	if write {
		verb = "write"
	}
	h.log.Warn("mqtt access denied", "username", p.Name, "role", p.Role, "client_id", cl.ID, "topic", topic, "access", verb)
	return false
}

func (h *authHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.who, cl)
	h.mu.Unlock()
}

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
