package capture

import (
	"context"
	"regexp"
	"time"

	"github.com/canopy-forest/canopy/agent/telemetry"
)

// Telemetry gives the vehicle's state at a time (agent/telemetry.Input).
type Telemetry interface {
	StateAt(ctx context.Context, t time.Time) (telemetry.State, error)
}

// joined is a source whose frames carry the vehicle's state.
type joined struct {
	Source
	tel    Telemetry
	offset time.Duration
}

// Join returns src whose frames carry the vehicle's state at their
// capture time (Frame.Time) plus offset (a camera clock that is off, or
// set to another time zone): Frame.Telemetry, or, when the telemetry has
// none (a gap, a time outside a log), Frame.TelemetryNote saying why.
func Join(src Source, tel Telemetry, offset time.Duration) Source {
	return &joined{Source: src, tel: tel, offset: offset}
}

func (j *joined) Next(ctx context.Context) (Frame, error) {
	f, err := j.Source.Next(ctx)
	if err != nil {
		return f, err
	}
	if f.Time.IsZero() {
		f.TelemetryNote = "not placed by telemetry: the frame's capture time is unknown"
		return f, nil
	}
	s, err := j.tel.StateAt(ctx, f.Time.Add(j.offset))
	if err != nil {
		f.TelemetryNote = "not placed by telemetry: " + err.Error()
		return f, nil
	}
	f.Telemetry = &s
	return f, nil
}

// nameStamp is a UTC time stamp in a file name: YYYYMMDDhhmmss, then
// optional fraction digits, then Z.
var nameStamp = regexp.MustCompile(`(\d{14})(\d{0,9})Z`)

// NameTime reads the UTC time stamp in a file name, as MAVProxy's and
// CanberraUAV's cameras name their frames: YYYYMMDDhhmmss, then fraction
// digits, then Z ("raw2016111223465120Z.png" is 2016-11-12 23:46:51.20
// UTC). ok is false when the name has none.
func NameTime(name string) (t time.Time, ok bool) {
	m := nameStamp.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("20060102150405", m[1], time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	if frac := m[2]; frac != "" {
		ns := 0
		for i := 0; i < 9; i++ {
			ns *= 10
			if i < len(frac) {
				ns += int(frac[i] - '0')
			}
		}
		t = t.Add(time.Duration(ns))
	}
	return t, true
}
