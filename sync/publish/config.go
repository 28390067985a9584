package publish

import (
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/internal/tlsfiles"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Environment variables that carry the broker credentials. Credentials are
// never read from the config file: from these, or from the files named by
// Config.UsernameFile and Config.PasswordFile.
const (
	EnvUsername = "CANOPY_MQTT_USERNAME"
	EnvPassword = "CANOPY_MQTT_PASSWORD"
)

// Defaults applied by Config.withDefaults to zero fields.
const (
	DefaultWindow         = 64
	DefaultWindowBytes    = 16 << 20
	DefaultAckTimeout     = 30 * time.Second
	DefaultKeepAlive      = 30 * time.Second
	DefaultStatusInterval = 60 * time.Second
	DefaultFlushTimeout   = 2 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
)

// Config configures a Publisher. The zero value of every field but Broker and
// Device means its default.
type Config struct {
	// Broker is the broker URL: tcp://host:1883, ssl://host:8883 (also tls://,
	// mqtts://), ws://host/path or wss://host/path.
	Broker string
	// TopicRoot is the first topic level ("" = "canopy").
	TopicRoot string
	// Device is this device's id (wire.ValidDevice).
	Device string
	// ClientID is the MQTT client id; it must stay the same across restarts
	// for the persistent session to work ("" = "canopy-<device>").
	ClientID string

	// CAFile is a PEM bundle of the CAs that sign the broker's certificate
	// ("" = the system pool). CertFile and KeyFile are the client
	// certificate and key for brokers that authenticate devices by
	// certificate (AWS IoT Core, Mosquitto with require_certificate).
	CAFile, CertFile, KeyFile string
	// ServerName overrides the name checked in the broker's certificate.
	ServerName string

	// Username and Password authenticate to the broker. Fill them with
	// LoadCredentials (environment or files), never from a config file.
	Username, Password string
	// UsernameFile and PasswordFile name files that hold the credentials
	// (such as systemd credentials or Kubernetes secrets); the environment
	// wins over them.
	UsernameFile, PasswordFile string

	// ChunkSize is the largest frame published (default wire.DefaultChunkSize,
	// the AWS IoT Core limit).
	ChunkSize int
	// Window is how many items may be in flight (sent, not yet acknowledged).
	// On a fast link the acks' round trip, not the bytes, bounds a small
	// window: 64 items keep loopback and LAN brokers busy.
	Window int
	// WindowBytes bounds the bytes of the items in flight, which the
	// publisher holds in memory to send again (one item is always let go,
	// however large).
	WindowBytes int64
	// BandwidthBytes limits the bytes published a second (0 = unlimited).
	BandwidthBytes int64
	// AckTimeout is how long to wait for the cloud's ack before sending an
	// item again.
	AckTimeout time.Duration
	// KeepAlive is the MQTT keepalive interval.
	KeepAlive time.Duration
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration
	// StatusInterval is how often the retained status is refreshed.
	StatusInterval time.Duration
	// FlushTimeout is how long Run waits for outstanding acks after its
	// context is cancelled.
	FlushTimeout time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay (full jitter);
	// attempts are never closer than a second apart.
	MinBackoff, MaxBackoff time.Duration

	// CloudKey is the cloud's Ed25519 public key (wire.ParseCloudKey of
	// the cloud_key that canopy-cloud device add prints). When set, an item
	// leaves the outbox only on an ack signed with it that names the item's
	// SHA-256; other acks are logged, counted (Stats.BadAcks) and ignored.
	// nil: acks are taken unverified (a warning is logged once).
	CloudKey ed25519.PublicKey

	// Version is reported in the status message.
	Version string

	// Downlink, when set, shares the publisher's connection: it is
	// subscribed to its topics on every connection, gets their messages,
	// publishes through the Link it is given, and what it reports goes
	// into every status message (agent/desired uses it).
	Downlink Downlink
}

// LoadCredentials fills Username and Password from the environment
// (EnvUsername, EnvPassword) or, where unset there, from UsernameFile and
// PasswordFile. Trailing newlines of the files are dropped.
func (c *Config) LoadCredentials(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	var errs []error
	load := func(dst *string, env, file string) {
		if v := getenv(env); v != "" {
			*dst = v
			return
		}
		if file == "" {
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("read credentials: %w", err))
			return
		}
		*dst = strings.TrimRight(string(b), "\r\n")
	}
	load(&c.Username, EnvUsername, c.UsernameFile)
	load(&c.Password, EnvPassword, c.PasswordFile)
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = "canopy-" + c.Device
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = wire.DefaultChunkSize
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.WindowBytes == 0 {
		c.WindowBytes = DefaultWindowBytes
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.FlushTimeout == 0 {
		c.FlushTimeout = DefaultFlushTimeout
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	return c
}

// Validate reports every problem of the configuration at once. It never
// dials the broker.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	u, err := url.Parse(c.Broker)
	switch {
	case c.Broker == "":
		add("broker: empty (want tcp://host:port, ssl://, ws:// or wss://)")
	case err != nil:
		add("broker %q: %v", c.Broker, err)
	case !knownScheme(u.Scheme):
		add("broker %q: scheme %q not supported (want tcp, ssl, tls, mqtts, ws or wss)", c.Broker, u.Scheme)
	case u.Host == "":
		add("broker %q: no host", c.Broker)
	}
	if err := wire.ValidDevice(c.Device); err != nil {
		add("device: %w", err)
	}
	if strings.ContainsAny(c.TopicRoot, "+#/") {
		add("topic root %q: must be one topic level without wildcards", c.TopicRoot)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		add("tls: cert file and key file go together")
	}
	if c.ChunkSize < 1024 {
		add("chunk size %d: want at least 1024", c.ChunkSize)
	}
	if c.Window < 1 {
		add("window %d: want at least 1", c.Window)
	}
	if c.WindowBytes < 0 {
		add("window bytes %d: want 0 (the default) or more", c.WindowBytes)
	}
	if c.BandwidthBytes < 0 {
		add("bandwidth %d: want 0 (unlimited) or more", c.BandwidthBytes)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ack timeout", c.AckTimeout}, {"keepalive", c.KeepAlive}, {"connect timeout", c.ConnectTimeout},
		{"status interval", c.StatusInterval}, {"flush timeout", c.FlushTimeout},
		{"min backoff", c.MinBackoff}, {"max backoff", c.MaxBackoff}} {
		if d.v < 0 {
			add("%s %v: negative", d.name, d.v)
		}
	}
	if c.MaxBackoff < c.MinBackoff {
		add("max backoff %v below min backoff %v", c.MaxBackoff, c.MinBackoff)
	}
	return errors.Join(errs...)
}

func knownScheme(s string) bool {
	switch s {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
		return true
	}
	return false
}

func secureScheme(s string) bool {
	switch s {
	case "ssl", "tls", "mqtts", "tcps", "wss":
		return true
	}
	return false
}

// tlsConfig builds the TLS configuration, or nil when the broker URL is not
// a TLS one and no certificate files are set.
func (c Config) tlsConfig() (*tls.Config, error) {
	u, err := url.Parse(c.Broker)
	if err != nil {
		return nil, fmt.Errorf("parse broker url: %w", err)
	}
	if !secureScheme(u.Scheme) && c.CAFile == "" && c.CertFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pool, err := tlsfiles.CertPool(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca file: %w", err)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
