package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/canopy-forest/canopy/agent/selection"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Validate reports every problem of c at once (errors.Join). It touches
// no network and no file.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := wire.ValidDevice(c.Device); err != nil {
		bad("device: %v", err)
	}
	if c.Data == "" {
		bad("data: the state directory is required")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format %q: want text or json", c.Log.Format)
	}

	cp := c.Capture
	if strings.TrimSpace(cp.Source) == "" {
		bad("capture.source is required")
	}
	if cp.Width < 0 || cp.Height < 0 || (cp.Width == 0) != (cp.Height == 0) {
		bad("capture.width and capture.height: both 0 or both positive, got %dx%d", cp.Width, cp.Height)
	}
	if cp.FPS < 0 {
		bad("capture.fps %v is negative", cp.FPS)
	}
	if cp.Follow < 0 || cp.Settle < 0 {
		bad("capture.follow %v and capture.settle %v must not be negative", cp.Follow, cp.Settle)
	}
	if cp.AltitudeM < 0 || cp.AltitudeM > 10000 || cp.AltitudeM != cp.AltitudeM {
		bad("capture.altitude_m %v: want a height above ground in metres, 0 to 10000 (0 = unknown)", cp.AltitudeM)
	}
	if cp.GSDM < 0 || cp.GSDM > 100 || cp.GSDM != cp.GSDM {
		bad("capture.gsd_m %v: want metres per pixel, 0 to 100 (0 = from the photos)", cp.GSDM)
	}
	if cp.RetryMin <= 0 || cp.RetryMax < cp.RetryMin {
		bad("capture.retry_min %v and retry_max %v: want 0 < retry_min <= retry_max", cp.RetryMin, cp.RetryMax)
	}

	s := c.Segmenter
	switch s.Kind {
	case SegmenterAuto, SegmenterClassical, SegmenterONNX:
	default:
		bad("segmenter.kind %q: want classical, onnx or empty (auto)", s.Kind)
	}
	switch s.Provider {
	case "cpu", "cuda", "tensorrt":
	default:
		bad("segmenter.provider %q: want cpu, cuda or tensorrt", s.Provider)
	}
	if s.Threads < 0 {
		bad("segmenter.threads %d is negative", s.Threads)
	}
	switch s.Memory {
	case "", "fast", "lean":
	default:
		bad("segmenter.memory %q: want fast or lean", s.Memory)
	}
	if c.GoMemoryLimitMiB < 0 {
		bad("go_memory_limit_mib %d is negative", c.GoMemoryLimitMiB)
	}
	if l := c.Metrics.Listen; l != "" {
		if _, port, err := net.SplitHostPort(l); err != nil || port == "" {
			bad("metrics.listen %q: want host:port (127.0.0.1:9464), or empty for off", l)
		}
	}
	if s.Threshold < 0 {
		bad("segmenter.threshold %v is negative", s.Threshold)
	}
	if s.Kind == SegmenterClassical && s.Model != "" {
		bad("segmenter.model %q is set but segmenter.kind is classical", s.Model)
	}

	switch c.Select.Mode {
	case SelectAuto, SelectPolicy, SelectAll:
	default:
		bad("select.mode %q: want auto, policy or all", c.Select.Mode)
	}
	if err := c.SelectionPolicy().Validate(); err != nil {
		bad("select: %v", err)
	}
	if q := c.Encode.JPEGQuality; q < 1 || q > 100 {
		bad("encode.jpeg_quality %d out of 1..100", q)
	}

	y := c.Sync
	if y.Broker != "" {
		u, err := url.Parse(y.Broker)
		switch {
		case err != nil:
			bad("sync.broker: %v", err)
		case !validScheme(u.Scheme):
			bad("sync.broker %q: scheme %q, want tcp, ssl, tls, mqtt, mqtts, ws or wss", y.Broker, u.Scheme)
		case u.Host == "":
			bad("sync.broker %q: no host", y.Broker)
		case u.User != nil:
			bad("sync.broker: credentials do not go in the URL; use sync.username_file/password_file or CANOPY_MQTT_USERNAME/PASSWORD")
		}
	}
	if y.TopicRoot == "" || strings.ContainsAny(y.TopicRoot, "+#") {
		bad("sync.topic_root %q: want a non-empty topic level without + or #", y.TopicRoot)
	}
	if y.ClientID != "" && len(y.ClientID) > 128 {
		bad("sync.client_id is longer than 128 bytes")
	}
	if (y.CertFile == "") != (y.KeyFile == "") {
		bad("sync.cert_file and sync.key_file go together")
	}
	if y.ChunkSize < 1024 || y.ChunkSize > 256<<20 {
		bad("sync.chunk_size %d out of 1024..268435456", y.ChunkSize)
	}
	if y.Window < 1 {
		bad("sync.window %d: at least 1", y.Window)
	}
	if y.Bandwidth < 0 {
		bad("sync.bandwidth %d is negative", y.Bandwidth)
	}
	if y.Bandwidth > 0 && y.Bandwidth < int64(y.ChunkSize)/60 {
		bad("sync.bandwidth %d bytes/s would take over a minute per chunk", y.Bandwidth)
	}
	if y.AckTimeout <= 0 {
		bad("sync.ack_timeout must be positive")
	}
	if y.Keepalive <= 0 {
		bad("sync.keepalive must be positive")
	}
	if y.CloudKey != "" {
		if _, err := wire.ParseCloudKey(y.CloudKey); err != nil {
			bad("sync.cloud_key: %v", err)
		}
	} else if y.Broker != "" && !y.InsecureAcks {
		errs = append(errs, ErrNoCloudKey)
	}

	c.Desired.validate(bad)
	errs = append(errs, c.validateDrone()...)

	o := c.Outbox
	if o.MaxBytes < 0 {
		bad("outbox.max_bytes %d is negative", o.MaxBytes)
	}
	if o.MaxBytes == 0 && (o.DiskShare <= 0 || o.DiskShare > 1) {
		bad("outbox.disk_share %v out of (0, 1] (used when outbox.max_bytes is 0)", o.DiskShare)
	}
	switch o.Sync {
	case OutboxSyncBatch:
		if o.BatchWindow <= 0 {
			bad("outbox.batch_window must be positive with outbox.sync batch")
		}
	case OutboxSyncAlways:
	default:
		bad("outbox.sync %q: want batch or always", o.Sync)
	}
	return errors.Join(errs...)
}

func validScheme(s string) bool {
	switch s {
	case "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss":
		return true
	}
	return false
}

// SelectionPolicy returns the select section as a selection.Policy: the
// one that keeps every frame in mode "all", and in mode "auto" when
// capture.telemetry places the frames.
func (c Config) SelectionPolicy() selection.Policy {
	if c.Select.Mode == SelectAll || (c.Select.Mode == SelectAuto && c.Capture.Telemetry != "") {
		return selection.Policy{Duplicates: "keep"}
	}
	return selection.Policy{
		MinShare:          c.Select.MinShare,
		MinInterval:       c.Select.MinInterval.D(),
		Duplicates:        c.Select.Duplicates,
		DuplicateDistance: c.Select.DuplicateDistance,
	}
}
