package telemetry

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
)

func loaded(t *testing.T, es []entry, gap time.Duration) *Buffer {
	t.Helper()
	b := NewBuffer(gap, 0)
	if _, err := Load(bytes.NewReader(encodeLog(t, es)), b); err != nil {
		t.Fatal(err)
	}
	b.Close()
	return b
}

func TestBufferAt(t *testing.T) {
	f := testFlight
	es := f.entries()
	// A gap: nothing from 10 s to 14 s.
	var gapped []entry
	for _, e := range es {
		if d := e.t.Sub(f.t0); d < 10*time.Second || d >= 14*time.Second {
			gapped = append(gapped, e)
		}
	}
	b := loaded(t, gapped, time.Second)
	for _, tc := range []struct {
		name    string
		at      time.Duration
		wantErr error
		note    string
	}{
		{name: "on a sample", at: 2 * time.Second},
		{name: "between samples", at: 2*time.Second + 130*time.Millisecond},
		{name: "first sample", at: 0},
		{name: "before the log, within the gap: extrapolated", at: -400 * time.Millisecond, note: "position extrapolated 0.40 s before"},
		{name: "after the log, within the gap: extrapolated", at: 20*time.Second + 500*time.Millisecond, note: "position extrapolated 0.50 s after"},
		{name: "near a gap's edge: extrapolated", at: 10*time.Second + 100*time.Millisecond, note: "extrapolated 0.30 s after"},
		{name: "inside the gap", at: 12 * time.Second, wantErr: ErrGap},
		{name: "long before", at: -5 * time.Second, wantErr: ErrOutside},
		{name: "long after", at: 30 * time.Second, wantErr: ErrOutside},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := f.t0.Add(tc.at)
			s, err := b.At(at)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("At: got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lat, lon := f.at(at)
			if d := metres(s.Lat, s.Lon, lat, lon); d > 0.05 {
				t.Errorf("position %.7f %.7f is %.3f m from the flight's %.7f %.7f", s.Lat, s.Lon, d, lat, lon)
			}
			if s.HeightM != 50 || s.AltM != 450 || math.Abs(s.SpeedMS-10) > 1e-9 {
				t.Errorf("height %v alt %v speed %v, want 50, 450, 10", s.HeightM, s.AltM, s.SpeedMS)
			}
			if !s.HasAttitude || math.Abs(s.YawDeg-90) > 1e-3 || math.Abs(s.PitchDeg-deg(-0.05)) > 1e-3 {
				t.Errorf("attitude %v yaw %v pitch %v, want yaw 90 pitch %v", s.HasAttitude, s.YawDeg, s.PitchDeg, deg(-0.05))
			}
			if s.Armed != ArmedYes {
				t.Errorf("armed %v", s.Armed)
			}
			if !strings.Contains(s.Note(), tc.note) || (tc.note == "" && s.Note() != "") {
				t.Errorf("note %q, want %q", s.Note(), tc.note)
			}
		})
	}
	if first, last, ok := b.Span(); !ok || !first.Equal(f.t0) || !last.Equal(f.t0.Add(f.dur)) {
		t.Errorf("span %v %v %v", first, last, ok)
	}
	if ahead, ok := b.VehicleClock(); !ok || ahead != 18*time.Second {
		t.Errorf("vehicle clock ahead %v %v, want 18s", ahead, ok)
	}
}

func TestBufferAttitude(t *testing.T) {
	t0 := testFlight.t0
	pos := func(t time.Time, hdg uint16) entry {
		return entry{t, 1, &ardupilotmega.MessageGlobalPositionInt{Lat: 470000000, Lon: 85000000, RelativeAlt: 30000, Hdg: hdg}}
	}
	att := func(t time.Time, yaw float64) entry {
		return entry{t, 1, &ardupilotmega.MessageAttitude{Yaw: float32(rad(yaw))}}
	}
	q := func(pitch, yaw float64) [4]float32 { // yaw then pitch, no roll
		cy, sy := math.Cos(rad(yaw)/2), math.Sin(rad(yaw)/2)
		cp, sp := math.Cos(rad(pitch)/2), math.Sin(rad(pitch)/2)
		return [4]float32{float32(cy * cp), float32(-sy * sp), float32(cy * sp), float32(sy * cp)}
	}
	for _, tc := range []struct {
		name          string
		es            []entry
		wantYaw       float64
		wantHasYaw    bool
		wantPitch     float64 // camera pitch
		wantHasPitch  bool
		wantOffNadir  float64
		wantGimbalNil bool
	}{
		{name: "yaw across north", es: []entry{pos(t0, 0), att(t0, 350), att(t0.Add(time.Second), 10), pos(t0.Add(time.Second), 0)},
			wantYaw: 0, wantHasYaw: true, wantPitch: -90, wantHasPitch: true, wantGimbalNil: true},
		{name: "no attitude: heading", es: []entry{pos(t0, 4500), pos(t0.Add(time.Second), 4500)},
			wantYaw: 45, wantHasYaw: true, wantGimbalNil: true},
		{name: "no attitude, no heading", es: []entry{pos(t0, math.MaxUint16), pos(t0.Add(time.Second), math.MaxUint16)},
			wantGimbalNil: true},
		{name: "gimbal in the earth frame", es: []entry{pos(t0, 0), att(t0, 100),
			{t0, 1, &ardupilotmega.MessageGimbalDeviceAttitudeStatus{Q: q(-80, 30), Flags: ardupilotmega.GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME}},
			pos(t0.Add(time.Second), 0)},
			wantYaw: 30, wantHasYaw: true, wantPitch: -80, wantHasPitch: true, wantOffNadir: 10},
		{name: "mount status from the nose", es: []entry{pos(t0, 0), att(t0, 100),
			{t0, 1, &ardupilotmega.MessageMountStatus{PointingA: -9000, PointingC: 1000}}, pos(t0.Add(time.Second), 0)},
			wantYaw: 110, wantHasYaw: true, wantPitch: -90, wantHasPitch: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := loaded(t, tc.es, time.Second)
			s, err := b.At(t0.Add(500 * time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			yaw, hasYaw := s.CameraYawDeg()
			pitch, hasPitch := s.CameraPitchDeg()
			off, _ := s.OffNadirDeg()
			if hasYaw != tc.wantHasYaw || math.Abs(yaw-tc.wantYaw) > 0.01 || hasPitch != tc.wantHasPitch ||
				math.Abs(pitch-tc.wantPitch) > 0.01 || math.Abs(off-tc.wantOffNadir) > 0.01 || (s.Gimbal == nil) != tc.wantGimbalNil {
				t.Errorf("yaw %v (%v), pitch %v (%v), off nadir %v, gimbal %+v; want yaw %v (%v), pitch %v (%v), off nadir %v",
					yaw, hasYaw, pitch, hasPitch, off, s.Gimbal, tc.wantYaw, tc.wantHasYaw, tc.wantPitch, tc.wantHasPitch, tc.wantOffNadir)
			}
		})
	}
}

func TestBufferKeep(t *testing.T) {
	b := NewBuffer(time.Second, 10*time.Second)
	t0 := testFlight.t0
	for i := 0; i < 1000; i++ {
		b.add(1, 1, &ardupilotmega.MessageGlobalPositionInt{Lat: 470000000, Lon: 85000000}, t0.Add(time.Duration(i)*100*time.Millisecond), nil)
	}
	first, last, _ := b.Span()
	if span := last.Sub(first); span < 10*time.Second || span > 15*time.Second {
		t.Errorf("a buffer keeping 10s holds %v", span)
	}
}

func TestBootClock(t *testing.T) {
	var c bootClock
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Boot time 1000 ms arrives with 30 ms delay, then one with 5 ms.
	got := c.board(1000, base.Add(1030*time.Millisecond))
	if want := base.Add(1030 * time.Millisecond); !got.Equal(want) {
		t.Fatalf("first: %v, want %v", got, want)
	}
	c.board(1100, base.Add(1105*time.Millisecond))
	if got, want := c.board(1200, base.Add(1250*time.Millisecond)), base.Add(1205*time.Millisecond); !got.Equal(want) {
		t.Errorf("least delay: %v, want %v", got, want)
	}
	// The vehicle reboots: boot time starts again.
	if got, want := c.board(500, base.Add(100*time.Second)), base.Add(100*time.Second); !got.Equal(want) {
		t.Errorf("after a reboot: %v, want %v", got, want)
	}
}
