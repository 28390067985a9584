package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
)

// Options configures Open.
type Options struct {
	// MaxGap is the largest distance in time from a frame to a position
	// sample (0: DefaultMaxGap).
	MaxGap time.Duration
	// Keep is how much telemetry a live link keeps (0: DefaultKeep).
	Keep time.Duration
	// StreamRate is the rate in Hz asked of an ArduPilot vehicle for its
	// telemetry streams (REQUEST_DATA_STREAM); 0: DefaultStreamRate.
	StreamRate int
	// Log receives the link's events.
	Log *slog.Logger
}

// DefaultStreamRate is the stream rate asked of an ArduPilot vehicle.
const DefaultStreamRate = 10

// Companion computer identity on the MAVLink network
// (MAV_COMP_ID_ONBOARD_COMPUTER of system 1).
const (
	systemID    = 1
	componentID = 191
)

// Input is a source of telemetry and the buffer it fills: a live link
// (udp, tcp, serial), read by Run, or a recorded log, read whole by Open.
type Input struct {
	*Buffer
	spec  Spec
	log   *slog.Logger
	node  *gomavlib.Node // nil for a log
	clock bootClock
	once  sync.Once
}

// Open opens the telemetry that spec names (see ParseSpec). A log is read
// whole now: a log cut in the middle of a record, or with bytes that are
// not records, is used up to the cut or around the bad bytes, with a
// warning; a log with no position is an error. A live link starts
// listening (udp) or connecting (tcp, serial, retried every 2 s while the
// device or server is away) now; Run takes its messages.
func Open(spec string, o Options) (*Input, error) {
	sp, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if !sp.Live() {
		return openLog(sp, o)
	}
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.StreamRate <= 0 {
		o.StreamRate = DefaultStreamRate
	}
	var ep gomavlib.EndpointConf
	switch sp.Kind {
	case KindUDP:
		ep = gomavlib.EndpointUDPServer{Address: sp.Address}
	case KindTCP:
		ep = gomavlib.EndpointTCPClient{Address: sp.Address}
	case KindSerial:
		ep = gomavlib.EndpointSerial{Device: sp.Path, Baud: sp.Baud}
	}
	node := &gomavlib.Node{
		Endpoints:              []gomavlib.EndpointConf{ep},
		Dialect:                ardupilotmega.Dialect,
		OutVersion:             gomavlib.V2,
		OutSystemID:            systemID,
		OutComponentID:         componentID,
		HeartbeatSystemType:    int(ardupilotmega.MAV_TYPE_ONBOARD_CONTROLLER),
		HeartbeatAutopilotType: int(ardupilotmega.MAV_AUTOPILOT_INVALID),
		StreamRequestEnable:    true,
		StreamRequestFrequency: o.StreamRate,
	}
	if err := node.Initialize(); err != nil {
		return nil, fmt.Errorf("open telemetry %s: %w", sp, err)
	}
	return &Input{Buffer: NewBuffer(o.MaxGap, o.Keep), spec: sp, log: o.Log, node: node}, nil
}

// openLog reads a whole log into a closed buffer.
func openLog(sp Spec, o Options) (*Input, error) {
	f, err := os.Open(sp.Path)
	if err != nil {
		return nil, fmt.Errorf("open telemetry log: %w", err)
	}
	defer f.Close()
	b := NewBuffer(o.MaxGap, 0)
	st, err := Load(f, b)
	switch {
	case errors.Is(err, ErrTruncated):
		o.Log.Warn("telemetry log cut in the middle of a record: the records before the cut are used", "telemetry", sp.Path,
			"records", st.Records, "err", err)
	case err != nil:
		return nil, fmt.Errorf("read telemetry log %s: %w", sp.Path, err)
	}
	if st.Skipped > 0 {
		o.Log.Warn("telemetry log has bytes that are not records: skipped", "telemetry", sp.Path, "skipped_bytes", st.Skipped)
	}
	b.Close()
	first, last, ok := b.Span()
	if !ok {
		return nil, fmt.Errorf("telemetry log %s: %d records, no position (GLOBAL_POSITION_INT) of a vehicle", sp.Path, st.Records)
	}
	msgs, positions := b.Messages()
	o.Log.Info("telemetry log read", "telemetry", sp.Path, "records", st.Records, "messages", msgs, "positions", positions,
		"from", first.UTC(), "to", last.UTC())
	return &Input{Buffer: b, spec: sp, log: o.Log}, nil
}

// LogStats is what Load read.
type LogStats struct {
	Records int64 // records read
	Skipped int64 // bytes skipped because they were not records
}

// Load reads the log r into b, each message stamped at its record's time.
// It returns at the end of the log, or with an error wrapping
// ErrTruncated (after taking every record before the cut), or another
// read error.
func Load(r io.Reader, b *Buffer) (LogStats, error) {
	lr := NewLogReader(r)
	var st LogStats
	for {
		rec, err := lr.Next()
		st.Skipped = lr.Skipped()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		st.Records++
		b.add(rec.Frame.GetSystemID(), rec.Frame.GetComponentID(), rec.Frame.GetMessage(), rec.Time, nil)
	}
}

// Spec is what the input was opened from.
func (in *Input) Spec() Spec { return in.spec }

// Run takes a live link's messages into the buffer until ctx is done
// (then nil). A link that drops is reopened (every 2 s) and logged; a
// log's Run only waits for ctx.
func (in *Input) Run(ctx context.Context) error {
	if in.node == nil {
		<-ctx.Done()
		return nil
	}
	defer in.Close()
	events := in.node.Events()
	var parseErrors int64
	for {
		select {
		case <-ctx.Done():
			msgs, positions := in.Messages()
			in.log.Info("telemetry stopped", "telemetry", in.spec.String(), "messages", msgs, "positions", positions, "parse_errors", parseErrors)
			return nil
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("telemetry %s: link closed", in.spec)
			}
			switch e := ev.(type) {
			case *gomavlib.EventFrame:
				in.add(e.SystemID(), e.ComponentID(), e.Message(), time.Now(), &in.clock)
			case *gomavlib.EventChannelOpen:
				in.log.Info("telemetry link open", "telemetry", in.spec.String(), "channel", e.Channel.String())
			case *gomavlib.EventChannelClose:
				in.log.Warn("telemetry link closed: reconnecting", "telemetry", in.spec.String(), "channel", e.Channel.String(), "err", e.Error)
			case *gomavlib.EventParseError:
				if parseErrors++; parseErrors == 1 || parseErrors%1000 == 0 {
					in.log.Debug("telemetry frame not parsed", "telemetry", in.spec.String(), "parse_errors", parseErrors, "err", e.Error)
				}
			}
		}
	}
}

// StateAt returns the vehicle's state at t (Buffer.At). On a live link
// that is sending, it first waits (up to the largest gap, at most a
// second) for a position sample at or after t, so that a frame just taken
// is interpolated rather than extrapolated; a link silent for longer than
// twice the largest gap is not waited for.
func (in *Input) StateAt(ctx context.Context, t time.Time) (State, error) {
	if _, last, ok := in.Span(); ok && t.Sub(last) < 2*in.MaxGap() {
		in.WaitPast(ctx, t, min(in.MaxGap(), time.Second))
	}
	return in.At(t)
}

// Close closes a live link. It is idempotent.
func (in *Input) Close() error {
	in.once.Do(func() {
		if in.node != nil {
			in.node.Close()
		}
		in.Buffer.Close()
	})
	return nil
}
