package telemetry

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// DefaultMaxGap is how far a frame may be from the nearest position
// sample and still be placed.
const DefaultMaxGap = time.Second

// DefaultKeep is how much telemetry a live buffer keeps.
const DefaultKeep = 2 * time.Minute

// earthRadius is the WGS 84 equatorial radius in metres, for
// dead-reckoning over fractions of a second.
const earthRadius = 6378137.0

// Buffer holds the vehicle's telemetry indexed by time: positions
// (GLOBAL_POSITION_INT), attitudes (ATTITUDE), the gimbal's attitude,
// armed state (HEARTBEAT), GPS fix (GPS_RAW_INT) and the vehicle's clock
// (SYSTEM_TIME). At gives the state at any time inside it. A Buffer is
// safe for concurrent use: one writer (a link or a log) and any number of
// readers.
type Buffer struct {
	maxGap, keep time.Duration

	mu     sync.RWMutex
	sys    uint8 // the vehicle's system id (0: not seen yet)
	pos    []position
	att    []attitude
	gim    []gimbalSample
	arm    []armedSample
	fix    []fixSample
	utcOff time.Duration // the vehicle's UTC (SYSTEM_TIME) minus buffer time
	hasUTC bool
	msgs   int64 // messages taken from the vehicle
	npos   int64 // of which positions
	wake   chan struct{}
	closed bool // no more samples will come (a log)
}

// NewBuffer returns an empty buffer. maxGap (0: DefaultMaxGap) is the
// largest distance in time from a frame to a position sample; keep (0:
// everything) is how much telemetry is kept, counted back from the newest
// sample.
func NewBuffer(maxGap, keep time.Duration) *Buffer {
	if maxGap <= 0 {
		maxGap = DefaultMaxGap
	}
	return &Buffer{maxGap: maxGap, keep: keep, wake: make(chan struct{})}
}

// MaxGap is the largest distance in time from a frame to a position
// sample.
func (b *Buffer) MaxGap() time.Duration { return b.maxGap }

type position struct {
	t          time.Time
	lat, lon   float64 // degrees
	alt, rel   float64 // metres above sea level and above home
	vn, ve, vd float64 // metres a second, north, east, down
	hdg        float64 // degrees, NaN when unknown
}

type attitude struct {
	t                time.Time
	roll, pitch, yaw float64 // degrees
}

type gimbalSample struct {
	t     time.Time
	g     Gimbal
	earth bool // yaw is from north (else from the vehicle's nose)
}

type armedSample struct {
	t     time.Time
	armed bool
}

type fixSample struct {
	t         time.Time
	fix, sats int
}

func (p position) when() time.Time     { return p.t }
func (a attitude) when() time.Time     { return a.t }
func (g gimbalSample) when() time.Time { return g.t }
func (a armedSample) when() time.Time  { return a.t }
func (f fixSample) when() time.Time    { return f.t }

type timed interface{ when() time.Time }

// insert adds e to s, which is sorted by time, keeping it sorted (samples
// come in order but for the odd reordered datagram).
func insert[E timed](s []E, e E) []E {
	n := len(s)
	if n == 0 || !e.when().Before(s[n-1].when()) {
		return append(s, e)
	}
	i := sort.Search(n, func(i int) bool { return s[i].when().After(e.when()) })
	s = append(s, e)
	copy(s[i+1:], s[i:])
	s[i] = e
	return s
}

// trim drops the samples before cutoff once half a keep's worth is
// stale, so that the copying is paid rarely.
func trim[E timed](s []E, newest time.Time, keep time.Duration) []E {
	if keep <= 0 || len(s) == 0 || newest.Sub(s[0].when()) < keep*3/2 {
		return s
	}
	cutoff := newest.Add(-keep)
	i := sort.Search(len(s), func(i int) bool { return !s[i].when().Before(cutoff) })
	return append(s[:0], s[i:]...)
}

// bracket returns the index of the last sample before t and of the first
// at or after it (-1 when there is none).
func bracket[E timed](s []E, t time.Time) (prev, next int) {
	i := sort.Search(len(s), func(i int) bool { return !s[i].when().Before(t) })
	prev, next = i-1, i
	if next == len(s) {
		next = -1
	}
	return prev, next
}

// near picks how to read s at t: both neighbours to interpolate between
// (f is t's fraction of the way from prev to next), or one sample (the
// other index -1) no farther than gap away. ok is false when no sample is
// within gap.
func near[E timed](s []E, t time.Time, gap time.Duration) (prev, next int, f float64, ok bool) {
	i, j := bracket(s, t)
	dPrev, dNext := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	if i >= 0 {
		dPrev = t.Sub(s[i].when())
	}
	if j >= 0 {
		dNext = s[j].when().Sub(t)
	}
	switch {
	case min(dPrev, dNext) > gap:
		return -1, -1, 0, false
	case i >= 0 && j >= 0 && dPrev+dNext <= 2*gap:
		return i, j, float64(dPrev) / float64(dPrev+dNext), true
	case dPrev <= dNext:
		return i, -1, 0, true
	default:
		return -1, j, 0, true
	}
}

// Span returns the times of the first and last position samples; ok is
// false when there is none.
func (b *Buffer) Span() (first, last time.Time, ok bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.pos) == 0 {
		return time.Time{}, time.Time{}, false
	}
	return b.pos[0].t, b.pos[len(b.pos)-1].t, true
}

// Messages is the number of messages taken from the vehicle so far, and
// how many of them were positions (GLOBAL_POSITION_INT).
func (b *Buffer) Messages() (all, positions int64) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.msgs, b.npos
}

// VehicleClock returns how far the vehicle's UTC clock (SYSTEM_TIME) is
// ahead of the buffer's time base (the board's clock for a live link, the
// recorder's for a log); ok is false before the first SYSTEM_TIME with a
// GPS time.
func (b *Buffer) VehicleClock() (ahead time.Duration, ok bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.utcOff, b.hasUTC
}

// At returns the vehicle's state at t, interpolated between the samples
// around it. A time farther than the largest gap from every position
// sample has no state: the error wraps ErrOutside (before the first or
// after the last sample), ErrGap (between two samples) or ErrNoTelemetry
// (no position at all), and says why in words.
func (b *Buffer) At(t time.Time) (State, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := State{Time: t, Fix: -1}
	hdg, err := b.position(t, &s)
	if err != nil {
		return State{}, err
	}
	b.attitude(t, &s, hdg)
	b.gimbal(t, &s)
	if i := lastAt(b.arm, t, b.maxGap); i >= 0 {
		s.Armed = ArmedNo
		if b.arm[i].armed {
			s.Armed = ArmedYes
		}
	}
	if i := lastAt(b.fix, t, b.maxGap); i >= 0 {
		s.Fix, s.Satellites = b.fix[i].fix, b.fix[i].sats
	}
	return s, nil
}

// lastAt is the index of the last sample of s at or before t, else of
// the first within gap after it; -1 if none.
func lastAt[E timed](s []E, t time.Time, gap time.Duration) int {
	i, j := bracket(s, t)
	switch {
	case j >= 0 && s[j].when().Equal(t):
		return j
	case i >= 0:
		return i
	case j >= 0 && s[j].when().Sub(t) <= gap:
		return j
	}
	return -1
}

// position fills s's position at t and returns the heading
// GLOBAL_POSITION_INT gives there (NaN if none).
func (b *Buffer) position(t time.Time, s *State) (hdg float64, err error) {
	p := b.pos
	if len(p) == 0 {
		return 0, fmt.Errorf("%w: no position (GLOBAL_POSITION_INT) received", ErrNoTelemetry)
	}
	i, j, f, ok := near(p, t, b.maxGap)
	if !ok {
		return 0, b.noPosition(t)
	}
	var q position
	switch {
	case i >= 0 && j >= 0:
		a, c := p[i], p[j]
		lerp := func(x, y float64) float64 { return x + (y-x)*f }
		q = position{t: t, lat: lerp(a.lat, c.lat), lon: lerp(a.lon, c.lon), alt: lerp(a.alt, c.alt), rel: lerp(a.rel, c.rel),
			vn: lerp(a.vn, c.vn), ve: lerp(a.ve, c.ve), vd: lerp(a.vd, c.vd), hdg: math.NaN()}
		if !math.IsNaN(a.hdg) && !math.IsNaN(c.hdg) {
			q.hdg = lerpAngle(a.hdg, c.hdg, f)
		}
	default:
		k := max(i, j)
		q = p[k].reckon(t)
		if dt := t.Sub(p[k].t); dt.Abs() >= 10*time.Millisecond {
			side := "after"
			if dt < 0 {
				side = "before"
			}
			s.Notes = append(s.Notes, fmt.Sprintf("position extrapolated %.2f s %s the nearest sample", dt.Abs().Seconds(), side))
		}
	}
	s.Lat, s.Lon, s.AltM, s.HeightM = q.lat, q.lon, q.alt, q.rel
	s.SpeedMS = math.Hypot(q.vn, q.ve)
	return q.hdg, nil
}

// reckon moves p to time t at its velocity (dead-reckoning over the
// fraction of a second to a frame past the last sample).
func (p position) reckon(t time.Time) position {
	dt := t.Sub(p.t).Seconds()
	q := p
	q.t = t
	q.lat += p.vn * dt / earthRadius * 180 / math.Pi
	q.lon += p.ve * dt / (earthRadius * math.Cos(rad(p.lat))) * 180 / math.Pi
	q.alt -= p.vd * dt
	q.rel -= p.vd * dt
	return q
}

// noPosition says why t has no position.
func (b *Buffer) noPosition(t time.Time) error {
	p := b.pos
	first, last := p[0].t, p[len(p)-1].t
	span := fmt.Sprintf("telemetry from %s to %s", stamp(first), stamp(last))
	switch {
	case t.Before(first):
		return fmt.Errorf("%w: %s is %s before the first position (%s)", ErrOutside, stamp(t), round(first.Sub(t)), span)
	case t.After(last):
		return fmt.Errorf("%w: %s is %s after the last position (%s)", ErrOutside, stamp(t), round(t.Sub(last)), span)
	}
	i, j := bracket(p, t)
	return fmt.Errorf("%w: no position within %s of %s (the nearest %s before, %s after)", ErrGap, b.maxGap,
		stamp(t), round(t.Sub(p[i].t)), round(p[j].t.Sub(t)))
}

// attitude fills s's attitude at t: ATTITUDE, else the heading hdg.
func (b *Buffer) attitude(t time.Time, s *State, hdg float64) {
	a := b.att
	i, j, f, ok := near(a, t, b.maxGap)
	switch {
	case ok && i >= 0 && j >= 0:
		x, y := a[i], a[j]
		s.RollDeg = x.roll + (y.roll-x.roll)*f
		s.PitchDeg = x.pitch + (y.pitch-x.pitch)*f
		s.YawDeg = lerpAngle(x.yaw, y.yaw, f)
		s.HasAttitude, s.HasYaw = true, true
	case ok:
		x := a[max(i, j)]
		s.RollDeg, s.PitchDeg, s.YawDeg = x.roll, x.pitch, wrap360(x.yaw)
		s.HasAttitude, s.HasYaw = true, true
	case !math.IsNaN(hdg):
		s.YawDeg, s.HasYaw = hdg, true
		s.Notes = append(s.Notes, fmt.Sprintf("no ATTITUDE within %s: yaw from the GLOBAL_POSITION_INT heading, pitch and roll unknown", b.maxGap))
	default:
		s.Notes = append(s.Notes, fmt.Sprintf("no ATTITUDE within %s and no heading: attitude unknown", b.maxGap))
	}
}

// gimbal fills s's gimbal attitude from the sample nearest t.
func (b *Buffer) gimbal(t time.Time, s *State) {
	i, j, _, ok := near(b.gim, t, b.maxGap)
	if !ok {
		return
	}
	if i < 0 || (j >= 0 && b.gim[j].t.Sub(t) < t.Sub(b.gim[i].t)) {
		i = j
	}
	g := b.gim[i]
	if !g.earth {
		if !s.HasYaw {
			return // its yaw is from the nose, and the nose's heading is unknown
		}
		g.g.YawDeg += s.YawDeg
	}
	g.g.YawDeg = wrap360(g.g.YawDeg)
	s.Gimbal = &g.g
}

// Latest returns the state at the newest position sample.
func (b *Buffer) Latest() (State, error) {
	_, last, ok := b.Span()
	if !ok {
		return State{}, fmt.Errorf("%w: no position (GLOBAL_POSITION_INT) received", ErrNoTelemetry)
	}
	return b.At(last)
}

// WaitPast waits until the buffer holds a position sample at or after t,
// for at most max, so that a frame just taken is interpolated rather than
// extrapolated. It returns early when the buffer is closed (a log) or ctx
// is done.
func (b *Buffer) WaitPast(ctx context.Context, t time.Time, max time.Duration) {
	timer := time.NewTimer(max)
	defer timer.Stop()
	for {
		b.mu.RLock()
		done := b.closed || (len(b.pos) > 0 && !b.pos[len(b.pos)-1].t.Before(t))
		wake := b.wake
		b.mu.RUnlock()
		if done {
			return
		}
		select {
		case <-wake:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// Close marks the buffer complete: WaitPast no longer waits.
func (b *Buffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
