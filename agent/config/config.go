package config

import (
	"os"
	"strings"
	"time"
)

// Config is the agent's configuration. The YAML keys are the snake_case
// tags; see canopy-agent.example.yaml for a commented example.
type Config struct {
	// Device is this unit's id: 1..64 of [A-Za-z0-9._-]. Default: the host
	// name (cleaned).
	Device string `yaml:"device"`
	// Board names a board profile (boards.Lookup); "" detects it.
	Board string `yaml:"board"`
	// Data is the state directory: sequence number, items, outbox.
	Data string `yaml:"data"`
	// Log is how the agent logs.
	Log Log `yaml:"log"`

	Capture   Capture   `yaml:"capture"`
	Segmenter Segmenter `yaml:"segmenter"`
	Select    Select    `yaml:"select"`
	Encode    Encode    `yaml:"encode"`
	Scan      Scan      `yaml:"scan"`
	Sync      Sync      `yaml:"sync"`
	Outbox    Outbox    `yaml:"outbox"`
	Metrics   Metrics   `yaml:"metrics"`
	Desired   Desired   `yaml:"desired"`
	Camera    Camera    `yaml:"camera"`
	Gate      Gate      `yaml:"gate"`

	// GoMemoryLimitMiB is a soft limit of the Go runtime's memory in MiB
	// (what GOMEMLIMIT sets; the environment variable wins): the garbage
	// collector works harder as the heap nears it. 0: none. Default: the
	// board profile's.
	GoMemoryLimitMiB int `yaml:"go_memory_limit_mib"`
}

// Metrics is the agent's Prometheus endpoint.
type Metrics struct {
	// Listen is the address GET /metrics is served on ("127.0.0.1:9464");
	// "" turns it off. Default: the board profile's (off, or a loopback
	// address).
	Listen string `yaml:"listen"`
}

// Log configures log/slog.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Capture is where frames come from.
type Capture struct {
	// Source: a V4L2 index ("0"), a GStreamer pipeline (contains "!"), an
	// RTSP/HTTP URL, a video file or a folder of images.
	Source string `yaml:"source"`
	// Width and Height ask a camera for a frame size (0: its default).
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// FPS caps the frame rate of live sources (0: unlimited).
	FPS float64 `yaml:"fps"`
	// Follow, for a folder source, waits for new files (listing the
	// folder every Follow) instead of ending; "0s" = off. A new file is
	// read once unchanged for Settle, and only if its name sorts after the
	// last one taken. --once turns following off.
	Follow Duration `yaml:"follow"`
	Settle Duration `yaml:"settle"`
	// RetryMin and RetryMax bound the backoff between attempts to reopen
	// a camera that disappeared.
	RetryMin Duration `yaml:"retry_min"`
	RetryMax Duration `yaml:"retry_max"`
	// AltitudeM is the camera's height above the ground in metres, for a
	// fixed (mast) camera looking down: with the photo's focal length and
	// the sensor width it gives the ground sample distance. A photo's own
	// height (DJI XMP RelativeAltitude) wins over it. 0 = unknown.
	AltitudeM float64 `yaml:"altitude_m"`
	// GSDM sets the ground sample distance (metres per pixel) of every
	// frame by hand; it wins over what the photos say. 0 = from the photos.
	GSDM float64 `yaml:"gsd_m"`
	// Telemetry is the flight controller's MAVLink telemetry that places
	// each frame (agent/telemetry): udp://HOST:PORT (listen),
	// tcp://HOST:PORT (connect), serial:DEVICE[:BAUD] or tlog:FILE (a
	// recorded log, for photos taken earlier); "" = none.
	Telemetry string `yaml:"telemetry"`
	// TelemetryOffset is added to a frame's capture time before it is
	// looked up in the telemetry: a camera clock that is off, or set to
	// another time zone ("-11h"). Default 0s.
	TelemetryOffset Duration `yaml:"telemetry_offset"`
	// TelemetryMaxGap is how far a frame may be from the nearest position
	// sample and still be placed (default 1s); farther frames get no
	// position and say why.
	TelemetryMaxGap Duration `yaml:"telemetry_max_gap"`
}

// Segmenter kinds.
const (
	SegmenterAuto      = ""          // the shipped ONNX model when found, else classical
	SegmenterClassical = "classical" // excess green, no model
	SegmenterONNX      = "onnx"      // ONNX Runtime
)

// Segmenter chooses and tunes the segmenter.
type Segmenter struct {
	// Kind is "classical", "onnx" or "" (auto: the shipped model when it
	// is found, else classical).
	Kind string `yaml:"kind"`
	// Model is the ONNX model file ("" = the shipped
	// models/treecover-seg.onnx, searched beside the binary,
	// ../share/canopy/models and ./models).
	Model string `yaml:"model"`
	// Library is the ONNX Runtime shared library ("" = the default search).
	Library string `yaml:"library"`
	// Provider is "cpu", "cuda" or "tensorrt" (falls back to cpu).
	Provider string `yaml:"provider"`
	// Threads is ONNX Runtime's intra-op threads (0: its default).
	Threads int `yaml:"threads"`
	// Memory is ONNX Runtime's memory mode (internal/ortenv): "fast" (every
	// graph optimisation, no memory pattern) or "lean" (no layout transform
	// either: about 15 MiB less for the shipped model, the same speed on
	// arm64 but 1.6 times slower on x86). Default: the board profile's.
	Memory string `yaml:"memory"`
	// Threshold: for onnx the forest probability (0 = from the model),
	// for classical a fixed excess-green threshold (0 = automatic).
	Threshold float64 `yaml:"threshold"`
}

// Select is the selection policy (agent/selection).
type Select struct {
	// Mode is "auto" (default: "all" when capture.telemetry places the
	// frames, else "policy"), "policy" (the keys below decide) or "all"
	// (every frame becomes an item: a survey's photos, where the flight's
	// gates choose the frames and every photo matters for the map).
	Mode string `yaml:"mode"`
	// MinShare is the least forest share in [0, 1]; 0 turns it off.
	MinShare float64 `yaml:"min_share"`
	// MinInterval is the least capture time between items; "0s" turns it off.
	MinInterval Duration `yaml:"min_interval"`
	// Duplicates is "skip" (near-duplicates of the last item are dropped)
	// or "keep".
	Duplicates string `yaml:"duplicates"`
	// DuplicateDistance is the largest Hamming distance (0..64) of two
	// 64-bit frame hashes that still counts as a duplicate.
	DuplicateDistance int `yaml:"duplicate_distance"`
}

// Values of Select.Mode.
const (
	SelectAuto   = "auto"
	SelectPolicy = "policy"
	SelectAll    = "all"
)

// Encode is how items are encoded.
type Encode struct {
	JPEGQuality int `yaml:"jpeg_quality"` // 1..100
}

// Scan is copied into every item's metadata.
type Scan struct {
	ScanID    string `yaml:"scan_id"`
	AddressID string `yaml:"address_id"`
	TreeType  string `yaml:"tree_type"`
}

// Sync is how items reach the cloud (sync/publish).
type Sync struct {
	// Broker is the MQTT broker URL (tcp://, ssl://, mqtt://, mqtts://,
	// ws://, wss://); "" keeps items on the device (no publishing).
	Broker string `yaml:"broker"`
	// TopicRoot is the first topic level ("canopy").
	TopicRoot string `yaml:"topic_root"`
	// ClientID is the MQTT client id; "" = "canopy-agent-<device>".
	ClientID string `yaml:"client_id"`
	// CAFile, CertFile and KeyFile are PEM files for TLS: the CA that
	// signs the broker's certificate, and this device's client
	// certificate and key.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Username is the MQTT username ("" = the device id once a password is
	// set: canopy-cloud device add's convention). Not a secret; the
	// environment's CANOPY_MQTT_USERNAME and UsernameFile win over it.
	Username string `yaml:"username"`
	// UsernameFile and PasswordFile hold the MQTT credentials (the
	// environment's CANOPY_MQTT_USERNAME / CANOPY_MQTT_PASSWORD win).
	UsernameFile string `yaml:"username_file"`
	PasswordFile string `yaml:"password_file"`
	// Password is filled by Load from the environment or PasswordFile;
	// never from the config file.
	Password string `yaml:"-"`
	// ChunkSize is the largest MQTT payload, in bytes (131072, AWS IoT
	// Core's limit).
	ChunkSize int `yaml:"chunk_size"`
	// Window is the most items in flight (sent, not yet acknowledged).
	Window int `yaml:"window"`
	// Bandwidth caps the bytes sent a second (0 = unlimited).
	Bandwidth int64 `yaml:"bandwidth"`
	// AckTimeout is how long an item waits for its ack before it is sent
	// again.
	AckTimeout Duration `yaml:"ack_timeout"`
	// Keepalive is the MQTT keepalive interval.
	Keepalive Duration `yaml:"keepalive"`
	// CloudKey is the cloud's public key ("ed25519:BASE64", the cloud_key
	// that canopy-cloud device add prints and writes into the board's
	// agent.d fragment). An item leaves the outbox only on an ack the cloud
	// signed for exactly that item. With a broker and no key the agent
	// refuses to start, unless InsecureAcks.
	CloudKey string `yaml:"cloud_key"`
	// InsecureAcks takes acks unverified when there is no CloudKey, so
	// that anyone who can publish on this device's ack topic can make it
	// delete items: for demos on a broker nobody else reaches, never in
	// the field. Logged as a warning at every start.
	InsecureAcks bool `yaml:"insecure_acks"`
}

// Outbox sync modes.
const (
	OutboxSyncBatch  = "batch"
	OutboxSyncAlways = "always"
)

// Outbox bounds and tunes the durable outbox (sync/outbox).
type Outbox struct {
	// MaxBytes bounds the outbox; 0 = DiskShare of the free space of the
	// state directory at start-up.
	MaxBytes int64 `yaml:"max_bytes"`
	// DiskShare is the share of free disk used when MaxBytes is 0, in
	// (0, 1] (from the board profile).
	DiskShare float64 `yaml:"disk_share"`
	// Sync is "batch" (puts within BatchWindow share one fsync) or
	// "always" (one fsync per put).
	Sync string `yaml:"sync"`
	// BatchWindow is how long a batch collects puts.
	BatchWindow Duration `yaml:"batch_window"`
}

// DefaultData is the default state directory.
const DefaultData = "/var/lib/canopy"

// Default returns the configuration before any board, file or flag.
func Default() Config {
	return Config{
		Device: defaultDevice(),
		Data:   DefaultData,
		Log:    Log{Level: "info", Format: "text"},
		Capture: Capture{
			Source:   "0",
			FPS:      5,
			Settle:   Duration(2 * time.Second),
			RetryMin: Duration(500 * time.Millisecond),
			RetryMax: Duration(30 * time.Second),

			TelemetryMaxGap: Duration(time.Second),
		},
		Segmenter: Segmenter{Kind: SegmenterAuto, Provider: "cpu"},
		Select: Select{
			Mode:              SelectAuto,
			MinShare:          0.05,
			MinInterval:       Duration(time.Second),
			Duplicates:        "skip",
			DuplicateDistance: 4,
		},
		Encode: Encode{JPEGQuality: 85},
		Gate:   Gate{Armed: ArmedAny},
		Sync: Sync{
			TopicRoot:  "canopy",
			ChunkSize:  128 << 10,
			Window:     8,
			AckTimeout: Duration(30 * time.Second),
			Keepalive:  Duration(30 * time.Second),
		},
		Outbox:  Outbox{DiskShare: 0.5, Sync: OutboxSyncBatch, BatchWindow: Duration(10 * time.Millisecond)},
		Desired: defaultDesired(),
	}
}

// ClientID returns the MQTT client id: Sync.ClientID or
// "canopy-agent-<device>".
func (c Config) ClientID() string {
	if c.Sync.ClientID != "" {
		return c.Sync.ClientID
	}
	return "canopy-agent-" + c.Device
}

// defaultDevice is the host name with anything outside [A-Za-z0-9._-]
// replaced by "-".
func defaultDevice() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "canopy"
	}
	h = strings.Map(func(r rune) rune {
		if r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, h)
	if len(h) > 64 {
		h = h[:64]
	}
	return h
}
