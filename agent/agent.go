package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/encode"
	"github.com/canopy-forest/canopy/agent/selection"
	"github.com/canopy-forest/canopy/agent/telemetry"
	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/sync/wire"
)

// DefaultDrainTimeout is how long Run keeps working on frames already read
// after its context is cancelled.
const DefaultDrainTimeout = 5 * time.Second

// Options are what an Agent is made of.
type Options struct {
	// Capture opens the source; Capture.After is filled from the sink's
	// cursor when the sink is a CursorReader.
	Capture   capture.Options
	Segmenter segment.Segmenter
	Policy    selection.Policy
	Encoder   *encode.Encoder
	Sink      Sink
	Log       *slog.Logger
	// DrainTimeout bounds the drain after cancellation (0: the default).
	DrainTimeout time.Duration
	// StuckAfter is how long a stage may work on one frame before Health
	// fails (0: DefaultStuckAfter).
	StuckAfter time.Duration
	// StatsEvery is how often Run logs its counters (0: every minute;
	// negative: never).
	StatsEvery time.Duration
	// Open replaces capture.Open (tests).
	Open func(capture.Options) (capture.Source, error)
	// Gate, when set, holds back frames whose flight state is not worth
	// capturing (Capture.Telemetry gives frames their state), before they
	// are segmented; each is counted under its reason (gate_disarmed, ...).
	Gate *telemetry.Gate
}

// Agent is the pipeline.
type Agent struct {
	o   Options
	log *slog.Logger
	c   counters
	// segBusy and putBusy hold when their stage took its current frame
	// (Unix nanoseconds; 0 when idle), for Health.
	segBusy, putBusy atomic.Int64
	// opened is set while the source is open, folder when it is a folder
	// (which counts as capturing from then on; a camera once it gave a
	// frame): Capturing.
	opened, folder atomic.Bool
	// full is set while the sink refuses items (owned by the put stage).
	full struct {
		on      bool
		since   time.Time
		refused int64
	}
}

// New checks o and returns an Agent.
func New(o Options) (*Agent, error) {
	switch {
	case o.Segmenter == nil:
		return nil, errors.New("new agent: no segmenter")
	case o.Encoder == nil:
		return nil, errors.New("new agent: no encoder")
	case o.Sink == nil:
		return nil, errors.New("new agent: no sink")
	}
	if err := o.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = DefaultStuckAfter
	}
	if o.StatsEvery == 0 {
		o.StatsEvery = time.Minute
	}
	if o.Open == nil {
		o.Open = capture.Open
	}
	o.Capture.Log = o.Log
	frameOptions(&o)
	return &Agent{o: o, log: o.Log}, nil
}

// Stats returns the counters so far.
func (a *Agent) Stats() Stats { return a.c.snapshot() }

// segmented is a frame with its mask, or a skipped frame whose position
// still moves the cursor.
type segmented struct {
	f      capture.Frame
	r      segment.Result
	cur    Cursor
	keep   bool
	reason string
}

// Run opens the source and runs the pipeline until the source ends (nil)
// or ctx is cancelled (nil, after the drain), or a stage fails.
func (a *Agent) Run(ctx context.Context) error {
	co := a.o.Capture
	if cr, ok := a.o.Sink.(CursorReader); ok && co.After == "" {
		key := capture.Key(co.Source)
		pos, err := cr.Cursor(key)
		if err != nil {
			return fmt.Errorf("run agent: %w", err)
		}
		if pos != "" {
			a.log.Info("resuming source", "source", key, "after", pos)
			co.After = pos
		}
	}
	src, err := a.o.Open(co)
	if err != nil {
		return fmt.Errorf("run agent: %w", err)
	}
	defer src.Close()
	a.folder.Store(capture.Kind(co.Source) == capture.KindFolder)
	a.opened.Store(true)
	defer a.opened.Store(false)
	a.log.Info("capture started", "source", src.Name(), "kind", capture.Kind(co.Source))
	started := time.Now()

	// work is cancelled DrainTimeout after ctx: the stages drain meanwhile.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(a.o.DrainTimeout, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	capCtx, stopCapture := context.WithCancel(ctx)
	defer stopCapture()
	// Unbuffered: every frame in flight holds a frame buffer, and the three
	// stages overlap as well without a queue between them.
	frames := make(chan capture.Frame)
	jobs := make(chan segmented)
	errc := make(chan error, 3)
	go func() { errc <- a.capture(capCtx, src, frames) }()
	go func() { errc <- a.segment(work, src.Name(), frames, jobs) }()
	go func() { errc <- a.put(work, jobs) }()
	if a.o.StatsEvery > 0 {
		t := time.NewTicker(a.o.StatsEvery)
		quit, done := make(chan struct{}), make(chan struct{})
		defer func() { close(quit); <-done; t.Stop() }()
		go func() {
			defer close(done)
			for {
				select {
				case <-t.C:
					s := a.Stats()
					a.log.Info("stats", "frames_read", s.FramesRead, "selected", s.Selected, "items_put", s.ItemsPut, "refused", s.Refused, "skipped", s.Skipped)
				case <-quit:
					return
				}
			}
		}()
	}
	var first error
	for i := 0; i < 3; i++ {
		if err := <-errc; err != nil && first == nil {
			first = err
			stopCapture() // a failed stage stops the others
			cancelWork()
		}
	}
	s := a.Stats()
	el := time.Since(started).Seconds()
	a.log.Info("capture stopped", "source", src.Name(), "frames_read", s.FramesRead, "segmented", s.Segmented,
		"selected", s.Selected, "items_put", s.ItemsPut, "refused", s.Refused, "skipped", s.Skipped,
		"elapsed_s", round3(el), "fps", round3(float64(s.FramesRead)/max(el, 1e-9)), "peak_rss_mb", round3(float64(peakRSS())/(1<<20)))
	if first != nil && ctx.Err() != nil && errors.Is(first, context.Canceled) {
		return nil // the drain ran out of time: what was left is read again next time
	}
	return first
}

// capture reads frames until the source ends or ctx is done.
func (a *Agent) capture(ctx context.Context, src capture.Source, out chan<- capture.Frame) error {
	defer close(out)
	for {
		f, err := src.Next(ctx)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			a.log.Info("source ended", "source", src.Name())
			return nil
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("capture: %w", err)
		}
		a.c.read.Add(1)
		select {
		case out <- f:
		case <-ctx.Done():
			return nil
		}
	}
}

// segment segments and selects each frame.
func (a *Agent) segment(ctx context.Context, source string, in <-chan capture.Frame, out chan<- segmented) error {
	defer close(out)
	sel := selection.New(a.o.Policy)
	for f := range in {
		j := segmented{f: f}
		if f.Position != "" {
			j.cur = Cursor{Source: source, Position: f.Position}
		}
		if a.o.Gate != nil {
			if reason := a.o.Gate.Pass(f.Telemetry); reason != "" {
				a.c.skip(reason)
				j.reason = reason
				a.log.Debug("frame", "frame", f.Name, "position", f.Position, "keep", false, "reason", reason, "telemetry_note", f.TelemetryNote)
				select {
				case out <- j:
					continue
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		start := time.Now()
		a.segBusy.Store(start.UnixNano())
		r, err := a.o.Segmenter.Segment(ctx, f.Image)
		a.segBusy.Store(0)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.log.Warn("segment failed", "frame", f.Name, "position", f.Position, "err", err)
			a.c.skip(SkipSegmentError)
			j.reason = SkipSegmentError
		} else {
			a.c.segmented.Add(1)
			j.r = r
			t := f.Time
			if f.Clock == capture.ClockFile {
				t = time.Time{} // a copied file's mtime says nothing about capture intervals
			}
			d := sel.Decide(f.Image, t, r.Share)
			j.keep, j.reason = d.Keep, d.Reason
			if !d.Keep {
				a.c.skip(d.Reason)
			}
			a.log.Debug("frame", "frame", f.Name, "position", f.Position, "forest_share", r.Share,
				"segment_ms", time.Since(start).Milliseconds(), "keep", d.Keep, "reason", d.Reason, "distance", d.Distance)
		}
		j.f = j.f.DropImage() // a photo's item needs its bytes, not its pixels
		select {
		case out <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// put encodes selected frames and hands them to the sink.
func (a *Agent) put(ctx context.Context, in <-chan segmented) error {
	adv, _ := a.o.Sink.(Advancer)
	for j := range in {
		if !j.keep {
			j.f.Release()
			if adv != nil && j.cur != (Cursor{}) {
				if err := adv.Advance(ctx, j.cur); err != nil {
					return fmt.Errorf("record cursor: %w", err)
				}
			}
			continue
		}
		a.c.selected.Add(1)
		a.putBusy.Store(time.Now().UnixNano())
		it, err := a.put1(ctx, j)
		j.f.Release() // encoded: the buffer can take the next frame
		a.putBusy.Store(0)
		if err != nil {
			return err
		}
		if it == nil {
			continue
		}
		a.c.put.Add(1)
		args := []any{"item", it.Meta.ItemID, "seq", it.Meta.Seq, "frame", j.f.Name,
			"forest_share", round3(j.r.Share), "bytes", it.Size(), "gps", it.Meta.GPS != nil}
		if n := it.Meta.GeoNote; n != "" {
			args = append(args, "geo_note", n) // why a frame is not placed, or what is approximate
		}
		a.log.Info("item", args...)
	}
	return nil
}

// put1 encodes one frame and puts it in the sink; a nil item means the
// frame could not be encoded (logged and counted).
func (a *Agent) put1(ctx context.Context, j segmented) (*wire.Item, error) {
	it, err := a.o.Encoder.Encode(j.f, j.r)
	if err != nil {
		a.log.Warn("encode failed", "frame", j.f.Name, "err", err)
		a.c.skip(SkipEncodeError)
		return nil, nil
	}
	err = a.o.Sink.Put(ctx, it, j.cur)
	if errors.Is(err, ErrFull) {
		a.refuse(it, j, err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("put item %s: %w", it.Meta.ItemID, err)
	}
	if a.full.on {
		a.log.Info("sink has room again: items are accepted", "item", it.Meta.ItemID,
			"refused_while_full", a.full.refused, "full_for", time.Since(a.full.since).Round(time.Second))
		a.full.on = false
	}
	return &it, nil
}

// refuse counts and logs an item that the full sink refused: a warning when
// the sink becomes full, then one debug line an item until it has room.
func (a *Agent) refuse(it wire.Item, j segmented, err error) {
	a.c.skip(SkipSinkFull)
	if !a.full.on {
		a.full.on, a.full.since, a.full.refused = true, time.Now(), 0
		a.log.Warn("outbox full: refusing new items until the cloud acknowledges some", "item", it.Meta.ItemID,
			"frame", j.f.Name, "refused_total", a.c.refused.Load(), "err", err)
	} else {
		a.log.Debug("item refused: outbox full", "item", it.Meta.ItemID, "frame", j.f.Name, "refused_total", a.c.refused.Load())
	}
	a.full.refused++
}

func round3(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }
