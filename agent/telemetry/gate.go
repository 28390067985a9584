package telemetry

import "math"

// Reasons a Gate holds a frame back (the agent counts them among its
// skips).
const (
	GateNoTelemetry = "gate_no_telemetry" // a gate is set but the frame has no state
	GateDisarmed    = "gate_disarmed"     // the motors are not armed (or unknown)
	GateLow         = "gate_low"          // below the least height
	GateOffNadir    = "gate_off_nadir"    // the camera looks too far from straight down (or unknown)
	GateDistance    = "gate_distance"     // too near the last frame let through
)

// GateOptions are the capture gates of a flight; the zero value lets
// every frame through.
type GateOptions struct {
	// Armed lets frames through only while the motors are armed.
	Armed bool
	// MinHeightM lets frames through only at least this high above home.
	MinHeightM float64
	// MaxOffNadirDeg lets frames through only with the camera within this
	// many degrees of straight down (0: any).
	MaxOffNadirDeg float64
	// EveryM lets through at most one frame per this many metres
	// travelled (0: any): the forward overlap of a survey, in place of a
	// frame rate.
	EveryM float64
}

// Enabled reports whether any gate is set.
func (o GateOptions) Enabled() bool {
	return o.Armed || o.MinHeightM > 0 || o.MaxOffNadirDeg > 0 || o.EveryM > 0
}

// Gate decides, frame by frame, whether the flight is in a state worth
// capturing. It remembers where the last frame it let through was taken;
// it is used by one goroutine.
type Gate struct {
	o    GateOptions
	last *State
}

// NewGate returns a gate with options o.
func NewGate(o GateOptions) *Gate { return &Gate{o: o} }

// Pass returns "" to let a frame with state s (nil: none known) through,
// else the reason (GateDisarmed, ...) to hold it back. A frame let
// through becomes the one the distance is measured from.
func (g *Gate) Pass(s *State) string {
	o := g.o
	if !o.Enabled() {
		return ""
	}
	if s == nil {
		return GateNoTelemetry
	}
	if o.Armed && s.Armed != ArmedYes {
		return GateDisarmed
	}
	if o.MinHeightM > 0 && s.HeightM < o.MinHeightM {
		return GateLow
	}
	if o.MaxOffNadirDeg > 0 {
		if off, ok := s.OffNadirDeg(); !ok || off > o.MaxOffNadirDeg {
			return GateOffNadir
		}
	}
	if o.EveryM > 0 && g.last != nil && Distance(*g.last, *s) < o.EveryM {
		return GateDistance
	}
	last := *s
	g.last = &last
	return ""
}

// Distance is the ground distance between two states' positions in
// metres (haversine).
func Distance(a, b State) float64 {
	la, lb := rad(a.Lat), rad(b.Lat)
	dlat, dlon := lb-la, rad(b.Lon-a.Lon)
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(la)*math.Cos(lb)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(h)))
}
