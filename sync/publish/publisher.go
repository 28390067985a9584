package publish

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Publisher drains an outbox to an MQTT broker. Create it with New and run
// it with Run; Stats, InFlight and Drained may be called concurrently.
type Publisher struct {
	cfg    Config
	ob     Outbox
	log    *slog.Logger
	topics wire.Topics
	tls    *tls.Config // nil: plain TCP or WebSocket

	// acks receives the cloud's acks from the MQTT client's goroutines.
	acks *ackQueue

	// Owned by Run's goroutine.
	inflight []*flight
	inBytes  int64 // bytes of the records in inflight
	byID     map[string]*flight
	cursor   string // ID of the last record read from the outbox
	limit    *limiter
	backoff  backoff

	// Acks being applied to the outbox by the applier goroutine.
	applyQ    *ackQueue
	doneQ     *ackQueue       // acks applied, for Run to take off p.applying
	applying  map[string]bool // owned by Run's goroutine
	mu        sync.Mutex
	applyErr  error
	failed    chan struct{} // closed when applying an ack failed
	nApplying atomic.Int64

	reportNow chan struct{} // a Downlink's report changed: publish the status

	nInFlight atomic.Int64
	running   atomic.Bool
	counters  counters
	latency   latency
}

// flight is one item sent and not yet acknowledged.
type flight struct {
	rec    outbox.Record
	sentAt time.Time // zero: to be sent (again)
	sends  int
	// overdue: sent again because its ack did not come in time. Its frames
	// may have been lost on a live connection (a broker with no subscriber
	// drops them), so no new item is started until it is acknowledged: a
	// newer item must not be stored before it.
	overdue bool
}

// Stats are the publisher's counters since New.
type Stats struct {
	Published      int64 // items sent, retransmissions included
	PublishedBytes int64 // frame bytes sent
	Acked          int64 // items the cloud stored
	Rejected       int64 // items the cloud (or the publisher) rejected
	Retransmitted  int64 // items sent again (ack timeout or reconnect)
	BadAcks        int64 // acks ignored: not a valid receipt of the cloud (with Config.CloudKey)
	Reconnects     int64 // connections made after the first
	// ConnectFailures counts connection attempts that failed (refused,
	// timed out, no file descriptor left, subscription refused): a device
	// that never connects has these and no Reconnects.
	ConnectFailures int64
	Connected       bool
	InFlight        int
}

type counters struct {
	published, publishedBytes, acked, rejected, retransmitted, connects, connectFailures, badAcks atomic.Int64
	connected                                                                                     atomic.Bool
}

// errConnectionLost ends a session when the client loses the broker.
var errConnectionLost = errors.New("connection lost")

// Outbox is what a Publisher needs of the outbox; *outbox.Outbox has it.
type Outbox interface {
	Next(after string, n int) ([]outbox.Record, error)
	Ack(id string) error
	Reject(id, reason string) error
	Stats() (outbox.Stats, error)
	Changed() <-chan struct{}
}

var _ Outbox = (*outbox.Outbox)(nil)

// New checks c and returns a Publisher for ob (an *outbox.Outbox). It does
// not connect.
func New(c Config, ob Outbox, log *slog.Logger) (*Publisher, error) {
	if ob == nil || ob == Outbox((*outbox.Outbox)(nil)) {
		return nil, errors.New("new publisher: nil outbox")
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	c = c.withDefaults()
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{
		cfg:      c,
		ob:       ob,
		log:      log.With("broker", c.Broker, "device", c.Device),
		topics:   wire.Topics{Root: c.TopicRoot},
		acks:     newAckQueue(),
		applyQ:   newAckQueue(),
		doneQ:    newAckQueue(),
		applying: map[string]bool{},
		failed:   make(chan struct{}),
		byID:     map[string]*flight{},
		limit:    newLimiter(c.BandwidthBytes),
		backoff:  backoff{min: c.MinBackoff, max: c.MaxBackoff},
	}
	p.tls = tc
	p.reportNow = make(chan struct{}, 1)
	return p, nil
}

// Stats returns a snapshot of the counters.
func (p *Publisher) Stats() Stats {
	c := &p.counters
	return Stats{
		Published:       c.published.Load(),
		PublishedBytes:  c.publishedBytes.Load(),
		Acked:           c.acked.Load(),
		Rejected:        c.rejected.Load(),
		Retransmitted:   c.retransmitted.Load(),
		BadAcks:         c.badAcks.Load(),
		Reconnects:      max(0, c.connects.Load()-1),
		ConnectFailures: c.connectFailures.Load(),
		Connected:       c.connected.Load(),
		InFlight:        int(p.nInFlight.Load()),
	}
}

// Latency returns the histogram of ack latencies since New.
func (p *Publisher) Latency() Latency { return p.latency.snapshot() }

// InFlight is the number of items sent and not yet acknowledged.
func (p *Publisher) InFlight() int { return int(p.nInFlight.Load()) }

// Drained reports whether nothing is in flight and the outbox is empty:
// every item put so far has been acknowledged by the cloud.
func (p *Publisher) Drained() (bool, error) {
	if p.nInFlight.Load() > 0 || p.nApplying.Load() > 0 {
		return false, nil
	}
	st, err := p.ob.Stats()
	if err != nil {
		return false, fmt.Errorf("outbox stats: %w", err)
	}
	return st.Depth == 0, nil
}

// Run connects, drains the outbox and reconnects until ctx is cancelled; it
// then waits up to Config.FlushTimeout for outstanding acks, publishes the
// offline status, disconnects and returns nil. It returns an error only for
// failures that retrying cannot mend (the outbox failing).
func (p *Publisher) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("publisher: Run called twice")
	}
	defer p.running.Store(false)
	if p.cfg.CloudKey == nil {
		p.log.Warn("no sync.cloud_key: acks are not verified, so anyone who can publish on this device's ack topic can make it delete items; give it the cloud_key that canopy-cloud device add prints")
	}
	stop, applied := make(chan struct{}), make(chan struct{})
	go func() { defer close(applied); p.applyAcks(stop) }()
	defer func() { close(stop); <-applied }()
	return reconnectLoop(ctx, &p.backoff, p.log, func(ctx context.Context) (bool, error) {
		c, err := p.connect(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.counters.connectFailures.Add(1)
			}
			return false, err
		}
		err = p.session(ctx, c)
		p.counters.connected.Store(false)
		var fatal *fatalError
		switch {
		case err == nil: // ctx cancelled, flushed and disconnected
		case errors.As(err, &fatal):
			c.client.Disconnect(250)
		default:
			c.client.Disconnect(0)
		}
		return true, err
	})
}

// reconnectLoop calls attempt until ctx ends or attempt returns nil or a
// *fatalError. Attempts are spaced by b's jittered backoff and never less
// than minAttemptGap apart; an attempt that connected resets the backoff.
func reconnectLoop(ctx context.Context, b *backoff, log *slog.Logger, attempt func(context.Context) (connected bool, err error)) error {
	var last time.Time
	for {
		if !last.IsZero() {
			d := b.delay(last, time.Now())
			log.Info("mqtt reconnect scheduled", "delay", d.Round(time.Millisecond))
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		last = time.Now()
		connected, err := attempt(ctx)
		if connected {
			b.reset()
		}
		var fatal *fatalError
		switch {
		case err == nil || ctx.Err() != nil:
			return nil
		case errors.As(err, &fatal):
			return err
		case connected:
			log.Warn("mqtt session ended", "err", err)
		default:
			log.Warn("mqtt connect failed", "err", err)
		}
	}
}

// fatalError marks a failure that reconnecting cannot mend.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// conn is one MQTT connection.
type conn struct {
	client mqtt.Client
	lost   chan struct{} // closed when the connection is lost
	// subscribed completes when the broker has answered the subscription
	// to acks (see session).
	subscribed mqtt.Token
}
