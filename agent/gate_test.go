package agent

import (
	"context"
	"image"
	"io"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/encode"
	"github.com/canopy-forest/canopy/agent/telemetry"
	"github.com/canopy-forest/canopy/sync/wire"
)

// flightSource yields one frame per state (nil: no telemetry).
type flightSource struct {
	states []*telemetry.State
	n      int
}

func (f *flightSource) Next(ctx context.Context) (capture.Frame, error) {
	if f.n >= len(f.states) {
		return capture.Frame{}, io.EOF
	}
	s := f.states[f.n]
	f.n++
	return capture.Frame{Image: image.NewRGBA(image.Rect(0, 0, 8, 8)), Time: time.Now(), Name: "cam", Telemetry: s}, nil
}
func (f *flightSource) Name() string { return "cam" }
func (f *flightSource) Close() error { return nil }

// TestGates runs a take-off, a climb and a survey leg past the gates:
// only frames armed, above 20 m, near nadir and 15 m apart are segmented
// and kept; each other is counted under its reason.
func TestGates(t *testing.T) {
	at := func(armed bool, height, east, pitch float64) *telemetry.State {
		s := &telemetry.State{Lat: 47, Lon: 8 + east/75900, HeightM: height, PitchDeg: pitch, HasAttitude: true, HasYaw: true,
			Armed: telemetry.ArmedNo}
		if armed {
			s.Armed = telemetry.ArmedYes
		}
		return s
	}
	states := []*telemetry.State{
		at(false, 0, 0, 0),  // on the pad: disarmed
		at(true, 5, 0, 0),   // climbing: too low
		at(true, 30, 0, 25), // turning: off nadir
		at(true, 30, 0, 2),  // kept
		at(true, 30, 5, 2),  // 5 m on: too near
		at(true, 30, 16, 2), // kept
		nil,                 // no telemetry
		at(true, 30, 40, 2), // kept
	}
	data := t.TempDir()
	enc, _ := encode.New(encode.Options{Device: "d", JPEGQuality: 80, StateDir: data})
	defer enc.Close()
	segmented := 0
	a, err := New(Options{
		Open:      func(capture.Options) (capture.Source, error) { return &flightSource{states: states}, nil },
		Segmenter: &fakeSeg{seg: func(context.Context) error { segmented++; return nil }},
		Encoder:   enc,
		Sink:      SinkFunc(func(context.Context, wire.Item, Cursor) error { return nil }),
		Gate:      telemetry.NewGate(telemetry.GateOptions{Armed: true, MinHeightM: 20, MaxOffNadirDeg: 10, EveryM: 15}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := a.Stats()
	want := map[string]int64{telemetry.GateDisarmed: 1, telemetry.GateLow: 1, telemetry.GateOffNadir: 1, telemetry.GateDistance: 1,
		telemetry.GateNoTelemetry: 1}
	for reason, n := range want {
		if s.Skipped[reason] != n {
			t.Errorf("skipped %s: %d, want %d", reason, s.Skipped[reason], n)
		}
	}
	if s.FramesRead != 8 || s.ItemsPut != 3 || segmented != 3 {
		t.Errorf("read %d, put %d, segmented %d; want 8, 3, 3", s.FramesRead, s.ItemsPut, segmented)
	}
}
