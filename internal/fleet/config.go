package fleet

import (
	"errors"
	"fmt"
	"time"
)

// Config is one fleet run. Zero fields take the defaults of Defaults.
type Config struct {
	Devices   int // simulated devices, each with its own outbox and publisher
	Items     int // items each device puts
	ItemBytes int // about this many bytes a item (JPEG plus mask): several 128 KiB chunks
	Receivers int // canopy-cloud serve processes in one share group
	// IngestWorkers is each receiver's --ingest-workers (0: its default).
	IngestWorkers int

	// CloudBin is the canopy-cloud binary the receivers run.
	CloudBin string
	// Mosquitto is the mosquitto binary: the harness runs its own broker on
	// a free port, so that it can restart it. Broker, when set instead,
	// names a running broker to use (then the broker is never restarted).
	Mosquitto string
	Broker    string
	// Embedded runs the devices against the embedded broker of the one
	// receiver (canopy-cloud serve without --broker): the harness
	// registers every device's identity in the run's database first.
	Embedded bool

	// DatabaseURL is a PostgreSQL URL; the run makes a database of its own
	// on that server (and drops it unless Keep).
	DatabaseURL string
	// S3Endpoint, S3AccessKey, S3SecretKey: the S3 server the receivers
	// store into (buckets of the run's own prefix). Empty endpoint: a blob
	// folder under Dir that the receivers share.
	S3Endpoint, S3AccessKey, S3SecretKey string

	// Dir holds the outboxes, the broker's and receivers' files and logs.
	Dir string
	// Keep leaves the database, the buckets and Dir in place.
	Keep bool

	// PutOver spreads each device's puts over this long.
	PutOver time.Duration
	// KillEvery SIGKILLs one receiver (in turn) this often while items are
	// being put and for FaultsFor after; it is started again RestartAfter
	// later. 0: no kills.
	KillEvery    time.Duration
	RestartAfter time.Duration
	// BrokerRestartAt SIGKILLs the broker this long after the start and
	// starts it again at once (0: never; needs Mosquitto).
	BrokerRestartAt time.Duration
	// CutDevices is how many devices have their first connection cut in the
	// middle of an item.
	CutDevices int
	// FaultsFor is how long faults go on after the last put.
	FaultsFor time.Duration

	// AckTimeout is the devices' sync.ack_timeout.
	AckTimeout time.Duration
	// StatusInterval is how often each device refreshes its retained
	// status (the agent's sync.status_interval).
	StatusInterval time.Duration
	// IdleFor keeps every device connected and idle this long before the
	// first put, to measure what an idle fleet costs the receiver.
	IdleFor time.Duration

	// DevicesPerHost is how many devices one process runs (0: as many as
	// its file-descriptor limit allows, two a device). More devices than
	// that run in device hosts: HostCommand with EnvDeviceHost set, a
	// program that calls Host then (scripts/fleet is one: its own path).
	DevicesPerHost int
	HostCommand    []string
	// Deadline bounds the whole run.
	Deadline time.Duration

	// Log receives progress lines (nil: none).
	Log func(format string, a ...any)
}

// Defaults are the figures of the fleet run: 100 devices x 20
// multi-chunk items, 3 receivers, a receiver SIGKILLed every 10 s and one
// broker restart.
var Defaults = Config{
	Devices:         100,
	Items:           20,
	ItemBytes:       300 << 10,
	Receivers:       3,
	PutOver:         2 * time.Minute,
	KillEvery:       10 * time.Second,
	RestartAfter:    2 * time.Second,
	BrokerRestartAt: 15 * time.Second,
	CutDevices:      10,
	FaultsFor:       10 * time.Second,
	AckTimeout:      30 * time.Second, // the agent's sync.ack_timeout
	StatusInterval:  10 * time.Second,
	Deadline:        10 * time.Minute,
}

func (c Config) withDefaults() Config {
	d := Defaults
	set := func(dst *int, def int) {
		if *dst == 0 {
			*dst = def
		}
	}
	set(&c.Devices, d.Devices)
	set(&c.Items, d.Items)
	set(&c.ItemBytes, d.ItemBytes)
	set(&c.Receivers, d.Receivers)
	dur := func(dst *time.Duration, def time.Duration) {
		if *dst == 0 {
			*dst = def
		}
	}
	dur(&c.PutOver, d.PutOver)
	dur(&c.RestartAfter, d.RestartAfter)
	dur(&c.AckTimeout, d.AckTimeout)
	dur(&c.StatusInterval, d.StatusInterval)
	dur(&c.Deadline, d.Deadline)
	return c
}

// Validate reports every problem of c.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Devices < 1 || c.Items < 1 || c.Receivers < 1 {
		bad("devices, items and receivers must be at least 1")
	}
	if c.ItemBytes < 1024 {
		bad("item bytes %d: want at least 1024", c.ItemBytes)
	}
	if c.CloudBin == "" {
		bad("no canopy-cloud binary (CloudBin)")
	}
	if n := btoi(c.Mosquitto != "") + btoi(c.Broker != "") + btoi(c.Embedded); n != 1 {
		bad("give one of a mosquitto binary (the harness runs its own broker), a broker URL or the embedded broker")
	}
	if c.Embedded && c.Receivers != 1 {
		bad("the embedded broker lives in one receiver: %d receivers", c.Receivers)
	}
	if c.BrokerRestartAt > 0 && c.Mosquitto == "" {
		bad("a broker restart needs the harness's own broker (Mosquitto)")
	}
	if c.DatabaseURL == "" {
		bad("no PostgreSQL URL (DatabaseURL)")
	}
	if c.Dir == "" {
		bad("no work folder (Dir)")
	}
	if c.CutDevices > c.Devices {
		bad("cut devices %d: more than the %d devices", c.CutDevices, c.Devices)
	}
	if c.KillEvery < 0 || c.BrokerRestartAt < 0 || c.FaultsFor < 0 || c.PutOver < 0 || c.IdleFor < 0 || c.DevicesPerHost < 0 {
		bad("negative durations")
	}
	return errors.Join(errs...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// brokerKind names the broker of the run for the report.
func (c Config) brokerKind() string {
	switch {
	case c.Embedded:
		return "embedded (in the receiver)"
	case c.Mosquitto != "":
		return "mosquitto (the harness's own)"
	}
	return c.Broker
}
