package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Serve configures canopy-cloud serve.
type Serve struct {
	Data     string // data folder: SQLite file and blob folder of the embedded setup
	HTTP     string // HTTP listen address
	LogLevel string // debug, info, warn, error

	// MQTT: the embedded broker on MQTTListen, unless Broker names an
	// external one.
	MQTTListen      string
	MQTTAllowRemote bool
	Broker          string // "tcp://host:port", "ssl://host:port"; "" = embedded
	ClientID        string // persistent-session client id; "" = canopy-cloud-<hostname>
	ShareGroup      string
	NoShare         bool
	TopicRoot       string

	// Reassembly limits.
	MaxItemBytes  int
	MaxInProgress int
	ItemTimeout   time.Duration
	MaxPixels     int
	IngestWorkers int

	// Blob store: S3 when S3Endpoint is set (or S3 is forced), else the
	// folder Data/blobs.
	S3Endpoint     string
	S3Region       string
	S3PathStyle    bool
	S3BucketPrefix string

	// DatabaseURL: "postgres://..." or a SQLite path; "" = Data/canopy.db.
	DatabaseURL string

	// Compat inputs.
	CompatTopic string // comma-separated topics; "" disables the compat MQTT input
	AMQPURL     string // "" disables the AMQP input
	AMQPQueue   string

	// Workers is the number of counting workers (0: none).
	Workers int

	// Ingest is "on" (receive items from the broker and the compat
	// inputs) or "off": a node that only counts and serves HTTP.
	Ingest string
}

// DefaultServe is the embedded setup.
func DefaultServe() Serve {
	return Serve{
		Data:          "canopy-data",
		HTTP:          "127.0.0.1:8080",
		LogLevel:      "info",
		MQTTListen:    "127.0.0.1:1883",
		ShareGroup:    "canopy",
		TopicRoot:     "canopy",
		MaxItemBytes:  32 << 20,
		MaxInProgress: 256,
		ItemTimeout:   2 * time.Minute,
		MaxPixels:     100_000_000,
		IngestWorkers: 4,
		CompatTopic:   "canopy/compat/images,canopy/v1/compat",
		AMQPQueue:     "canopy.compat",
		Workers:       1,
		Ingest:        IngestOn,
	}
}

// Values of Serve.Ingest.
const (
	IngestOn  = "on"
	IngestOff = "off"
)

// EmbeddedBroker reports whether serve runs its own broker.
func (s Serve) EmbeddedBroker() bool { return s.Broker == "" && s.Ingest != IngestOff }

// DatabaseDSN is the database to open.
func (s Serve) DatabaseDSN() string {
	if s.DatabaseURL != "" {
		return s.DatabaseURL
	}
	return filepath.Join(s.Data, "canopy.db")
}

// BlobDir is the folder of the local blob store.
func (s Serve) BlobDir() string { return filepath.Join(s.Data, "blobs") }

// Validate reports every problem of s.
func (s Serve) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Data == "" && (s.DatabaseURL == "" || s.S3Endpoint == "") {
		bad("--data: empty, and the database or blob store needs it")
	}
	if _, _, err := net.SplitHostPort(s.HTTP); err != nil {
		bad("--http %q: want HOST:PORT: %v", s.HTTP, err)
	}
	if !oneOf(s.Ingest, IngestOn, IngestOff) {
		bad("--ingest %q: want on or off", s.Ingest)
	}
	switch u, err := url.Parse(s.Broker); {
	case s.Ingest == IngestOff:
		// No broker: its settings are not used.
	case s.Broker == "":
		if _, _, err := net.SplitHostPort(s.MQTTListen); err != nil {
			bad("--mqtt-listen %q: want HOST:PORT: %v", s.MQTTListen, err)
		}
	case err != nil || u.Host == "" || !oneOf(u.Scheme, "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"):
		bad("--broker %q: want a URL such as tcp://host:1883 or ssl://host:8883", s.Broker)
	}
	if !oneOf(strings.ToLower(s.LogLevel), "debug", "info", "warn", "error") {
		bad("--log-level %q: want debug, info, warn or error", s.LogLevel)
	}
	if s.TopicRoot == "" || strings.ContainsAny(s.TopicRoot, "+#") {
		bad("--topic-root %q: want a non-empty topic without + or #", s.TopicRoot)
	}
	if !s.NoShare && (s.ShareGroup == "" || strings.ContainsAny(s.ShareGroup, "/+#")) {
		bad("--share-group %q: want a non-empty name without / + #", s.ShareGroup)
	}
	if s.S3Endpoint != "" {
		if u, err := url.Parse(s.S3Endpoint); err != nil || u.Host == "" || !oneOf(u.Scheme, "http", "https") {
			bad("--s3-endpoint %q: want a URL such as http://127.0.0.1:7070", s.S3Endpoint)
		}
	}
	if s.DatabaseURL != "" && strings.Contains(s.DatabaseURL, "://") &&
		!strings.HasPrefix(s.DatabaseURL, "postgres://") && !strings.HasPrefix(s.DatabaseURL, "postgresql://") && !strings.HasPrefix(s.DatabaseURL, "sqlite://") {
		bad("--database-url %q: want postgres://..., sqlite://PATH or a file path", s.DatabaseURL)
	}
	if s.AMQPURL != "" {
		if u, err := url.Parse(s.AMQPURL); err != nil || !oneOf(u.Scheme, "amqp", "amqps") {
			bad("--amqp-url: want amqp://user:pass@host:5672/")
		}
		if s.AMQPQueue == "" {
			bad("--amqp-queue: empty")
		}
	}
	if s.MaxItemBytes <= 0 || s.MaxInProgress <= 0 || s.ItemTimeout <= 0 || s.MaxPixels <= 0 || s.IngestWorkers <= 0 {
		bad("--max-item-bytes, --max-in-progress, --item-timeout, --max-pixels and --ingest-workers must be positive")
	}
	if s.Workers < 0 {
		bad("--workers %d: want 0 or more", s.Workers)
	}
	return errors.Join(errs...)
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}
