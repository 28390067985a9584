package capture

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/agent/telemetry"
)

func TestNameTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		want time.Time
		ok   bool
	}{
		{"raw2016111223465120Z.png", time.Date(2016, 11, 12, 23, 46, 51, 200_000_000, time.UTC), true},
		{"exif2016111223464876Z.png", time.Date(2016, 11, 12, 23, 46, 48, 760_000_000, time.UTC), true},
		{"cam_20240601T101500.jpg", time.Time{}, false},
		{"20240601101500Z.jpg", time.Date(2024, 6, 1, 10, 15, 0, 0, time.UTC), true},
		{"20240601101500123456Z.jpg", time.Date(2024, 6, 1, 10, 15, 0, 123_456_000, time.UTC), true},
		{"20241399101500Z.jpg", time.Time{}, false}, // month 13
		{"IMG_0001.JPG", time.Time{}, false},
	} {
		got, ok := NameTime(tc.name)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("NameTime(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// stateFunc is a Telemetry made of a function.
type stateFunc func(t time.Time) (telemetry.State, error)

func (f stateFunc) StateAt(_ context.Context, t time.Time) (telemetry.State, error) { return f(t) }

// TestJoin reads a folder whose files are named by their UTC capture time
// (one without a stamp: its file time) through telemetry that knows the
// first minute of 2024-06-01 10:15 only.
func TestJoin(t *testing.T) {
	dir := t.TempDir()
	png := encode(t, "png", testImage(8, 8, 1))
	for _, n := range []string{"a20240601101500Z.png", "b20240601101530Z.png", "c20240601101700Z.png", "d.png"} {
		writeFile(t, filepath.Join(dir, n), png)
	}
	from := time.Date(2024, 6, 1, 10, 15, 0, 0, time.UTC)
	tel := stateFunc(func(t time.Time) (telemetry.State, error) {
		if t.Before(from) || t.After(from.Add(time.Minute)) {
			return telemetry.State{}, errors.New("outside the telemetry")
		}
		return telemetry.State{Time: t, Lat: 47, Lon: 8, HeightM: t.Sub(from).Seconds()}, nil
	})
	src, err := Open(Options{Source: dir, Telemetry: tel, TelemetryOffset: -5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := []struct {
		clock  Clock
		height float64
		note   string
	}{
		{ClockName, 0, "not placed by telemetry: outside the telemetry"}, // 10:15:00 - 5 s is before
		{ClockName, 25, ""},
		{ClockName, 0, "not placed by telemetry: outside the telemetry"},
		{ClockFile, 0, "not placed by telemetry: outside the telemetry"}, // now
	}
	for i, w := range want {
		f, err := src.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var h float64
		if f.Telemetry != nil {
			h = f.Telemetry.HeightM
		}
		if f.Clock != w.clock || h != w.height || f.TelemetryNote != w.note || (f.Telemetry == nil) != (w.note != "") {
			t.Errorf("frame %d %s: clock %v, height %v, note %q; want %v, %v, %q", i, f.Name, f.Clock, h, f.TelemetryNote, w.clock, w.height, w.note)
		}
	}
	if _, err := src.Next(t.Context()); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v", err)
	}
}
