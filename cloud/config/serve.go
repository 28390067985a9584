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

	// HTTPTLSCert and HTTPTLSKey (PEM files) serve HTTPS on HTTP; read
	// again on SIGHUP. "" = plain HTTP.
	HTTPTLSCert, HTTPTLSKey string
	// MetricsListen serves GET /metrics with no token on an address of its
	// own ("" = only on HTTP, behind a token of scope metrics).
	MetricsListen string

	// MQTT: the embedded broker on MQTTListen, unless Broker names an
	// external one.
	MQTTListen      string
	MQTTAllowRemote bool
	// TLS listener of the embedded broker, for devices in the field.
	MQTTTLSListen   string    // host:port; "" = none
	TLSCert, TLSKey string    // the broker's certificate and key (PEM files)
	MQTTClientCerts string    // off, optional or require: client certificates signed by the cloud's device CA
	Broker          string    // "tcp://host:port", "ssl://host:port"; "" = embedded
	MQTTTLS         BrokerTLS // CA, client certificate and key for Broker
	ClientID        string    // MQTT client id; "" = canopy-cloud-<hostname>-<http port> (+ a random suffix for a clean session)
	Session         string    // the item receiver's MQTT session: "clean" (default) or "persistent"
	ShareGroup      string
	NoShare         bool
	TopicRoot       string

	// Reassembly limits.
	MaxItemBytes  int
	MaxInProgress int
	ItemTimeout   time.Duration
	MaxPixels     int
	IngestWorkers int
	// Staging of the chunks of items spread over several receivers.
	SpillAfter   time.Duration // how long an incomplete item waits in memory
	MaxHeldBytes int64         // chunk bytes held in memory at most

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
	// Method is how the workers count: "auto" (the learned detector when
	// its model is found and loads, else classical), "learned" or
	// "classical".
	Method string
	// Model is the ONNX crown detector ("" = crown-detector.onnx found
	// beside the binary, in ../share/canopy/models or ./models).
	Model string
	// GSDDefault is the ground sample distance (metres per pixel) that
	// images carrying none are counted at; their counts say so.
	GSDDefault float64

	// Ingest is "on" (receive items from the broker and the compat
	// inputs) or "off": a node that only counts and serves HTTP.
	Ingest string

	// RetainRaw, when positive, is how long raw images are kept after
	// they are received: older ones are deleted once counted (their rows,
	// counts, masks and annotated images stay). 0: kept for ever.
	RetainRaw time.Duration
}

// DefaultServe is the embedded setup.
func DefaultServe() Serve {
	return Serve{
		Data:            "canopy-data",
		HTTP:            "127.0.0.1:8080",
		LogLevel:        "info",
		MQTTListen:      "127.0.0.1:1883",
		MQTTClientCerts: "off",
		ShareGroup:      "canopy",
		Session:         "clean",
		TopicRoot:       "canopy",
		MaxItemBytes:    32 << 20,
		MaxInProgress:   256,
		ItemTimeout:     2 * time.Minute,
		MaxPixels:       100_000_000,
		IngestWorkers:   4,
		SpillAfter:      500 * time.Millisecond,
		MaxHeldBytes:    64 << 20,
		CompatTopic:     "canopy/compat/images,canopy/v1/compat",
		AMQPQueue:       "canopy.compat",
		Workers:         1,
		Method:          "auto",
		GSDDefault:      0.1,
		Ingest:          IngestOn,
	}
}

// Values of Serve.Ingest.
const (
	IngestOn  = "on"
	IngestOff = "off"
)

// ClientIDBase is the start of the MQTT client ids of serve: --client-id,
// else "canopy-cloud-<hostname>-<http port>", which stays the same across
// restarts and differs between receivers on one host.
func (s Serve) ClientIDBase(hostname string) string {
	if s.ClientID != "" {
		return s.ClientID
	}
	id := "canopy-cloud-" + hostname
	if _, port, err := net.SplitHostPort(s.HTTP); err == nil && port != "" && port != "0" {
		id += "-" + port
	}
	return id
}

// EmbeddedBroker reports whether serve runs its own broker.
func (s Serve) EmbeddedBroker() bool { return s.Broker == "" && s.Ingest != IngestOff }

// DatabaseDSN is the database to open.
func (s Serve) DatabaseDSN() string {
	if s.DatabaseURL != "" {
		return s.DatabaseURL
	}
	return filepath.Join(s.Data, "canopy.db")
}

// CompatTopics are the topics of CompatTopic, in order, without blanks.
func (s Serve) CompatTopics() []string {
	var out []string
	for _, t := range strings.Split(s.CompatTopic, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
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
	if (s.HTTPTLSCert == "") != (s.HTTPTLSKey == "") {
		bad("--http-tls-cert and --http-tls-key go together")
	}
	if s.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(s.MetricsListen); err != nil {
			bad("--metrics-listen %q: want HOST:PORT: %v", s.MetricsListen, err)
		} else if s.MetricsListen == s.HTTP {
			bad("--metrics-listen %s: the address of --http; give it an address of its own, or leave it empty for /metrics behind a token of scope metrics", s.MetricsListen)
		}
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
	default:
		if err := s.MQTTTLS.Validate(s.Broker); err != nil {
			errs = append(errs, err)
		}
	}
	if s.MQTTTLS.Set() && !(s.Broker != "" && s.Ingest != IngestOff) {
		bad("--mqtt-ca, --mqtt-cert and --mqtt-key are for the connection to an external broker (--broker ssl://...)")
	}
	if s.MQTTTLSListen != "" {
		if s.Broker != "" {
			bad("--mqtt-tls-listen: the embedded broker's TLS listener, not used with --broker")
		}
		if _, _, err := net.SplitHostPort(s.MQTTTLSListen); err != nil {
			bad("--mqtt-tls-listen %q: want HOST:PORT: %v", s.MQTTTLSListen, err)
		}
		if s.TLSCert == "" || s.TLSKey == "" {
			bad("--mqtt-tls-listen needs --tls-cert and --tls-key (the broker's certificate and key)")
		}
	}
	if !oneOf(s.MQTTClientCerts, "off", "optional", "require") {
		bad("--mqtt-client-certs %q: want off, optional or require", s.MQTTClientCerts)
	} else if s.MQTTClientCerts != "off" && s.MQTTTLSListen == "" {
		bad("--mqtt-client-certs %s needs --mqtt-tls-listen", s.MQTTClientCerts)
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
	if s.Session != "clean" && s.Session != "persistent" {
		bad("--mqtt-session %q: want clean or persistent", s.Session)
	} else if s.Session == "persistent" && !s.NoShare {
		bad("--mqtt-session persistent needs --no-share: a broker keeps handing a shared subscription's items to a persistent receiver that is gone")
	}
	if s.SpillAfter <= 0 || s.MaxHeldBytes <= 0 {
		bad("--spill-after and --max-held-bytes must be positive")
	}
	if s.MaxItemBytes <= 0 || s.MaxInProgress <= 0 || s.ItemTimeout <= 0 || s.MaxPixels <= 0 || s.IngestWorkers <= 0 {
		bad("--max-item-bytes, --max-in-progress, --item-timeout, --max-pixels and --ingest-workers must be positive")
	}
	if s.Workers < 0 {
		bad("--workers %d: want 0 or more", s.Workers)
	}
	if !oneOf(s.Method, "auto", "learned", "classical") {
		bad("--method %q: want auto, learned or classical", s.Method)
	}
	if !(s.GSDDefault > 0 && s.GSDDefault <= 100) {
		bad("--gsd-default %v: want metres per pixel in (0, 100]", s.GSDDefault)
	}
	if s.RetainRaw < 0 {
		bad("--retain-raw %v: want a duration (720h: 30 days), or 0 to keep raw images", s.RetainRaw)
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
