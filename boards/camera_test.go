package boards

import (
	"math"
	"strings"
	"testing"
)

func TestCameras(t *testing.T) {
	cs, err := Cameras()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{"pi-camera-3": {6.45, 4.74}, "pi-hq-6mm": {6.287, 6}, "imx219": {3.674, 3.04}, "imx477": {6.287, 6}}
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.Name] {
			t.Errorf("camera %q twice", c.Name)
		}
		seen[c.Name] = true
		if w, ok := want[c.Name]; ok && (math.Abs(c.SensorWidthMM-w[0]) > 1e-9 || math.Abs(c.FocalLengthMM-w[1]) > 1e-9) {
			t.Errorf("%s: sensor %v mm, focal %v mm; want %v", c.Name, c.SensorWidthMM, c.FocalLengthMM, w)
		}
	}
	for n := range want {
		if !seen[n] {
			t.Errorf("no camera %q", n)
		}
	}
	if _, err := LookupCamera("gopro"); err == nil || !strings.Contains(err.Error(), "pi-camera-3") {
		t.Errorf("unknown camera: %v, want an error naming the known ones", err)
	}
	// Every board's camera model is known (Validate checks it); the
	// Raspberry Pi 5's is the Camera Module 3.
	p, err := Lookup("raspberry-pi-5")
	if err != nil || p.Camera.Model != "pi-camera-3" {
		t.Errorf("raspberry-pi-5 camera model %q, %v", p.Camera.Model, err)
	}
	p.Camera.Model = "nikon"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "camera.model") {
		t.Errorf("a profile with an unknown camera: %v", err)
	}
}
