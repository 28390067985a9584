package config

import (
	"strings"
	"testing"
	"time"
)

func TestDroneSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		yaml     string
		board    string
		wantErr  string
		wantLens [2]float64
	}{
		{name: "defaults: no camera", wantLens: [2]float64{0, 0}},
		{name: "board's camera", board: "raspberry-pi-5", wantLens: [2]float64{6.45, 4.74}},
		{name: "model", yaml: "camera: {model: pi-hq-6mm}", board: "raspberry-pi-5", wantLens: [2]float64{6.287, 6}},
		{name: "model with another lens", yaml: "camera: {model: pi-hq-6mm, focal_length_mm: 16}", wantLens: [2]float64{6.287, 16}},
		{name: "by hand", yaml: "camera: {sensor_width_mm: 13.2, focal_length_mm: 8.8}", wantLens: [2]float64{13.2, 8.8}},
		{name: "telemetry and gates", yaml: `
capture: {telemetry: "serial:/dev/serial0:921600", telemetry_offset: "-1.5s", telemetry_max_gap: 2s}
gate: {armed: required, min_height_m: 20, max_off_nadir_deg: 10, every_m: 15}`},
		{name: "unknown camera", yaml: "camera: {model: gopro}", wantErr: "camera.model"},
		{name: "negative focal", yaml: "camera: {focal_length_mm: -4}", wantErr: "camera.focal_length_mm"},
		{name: "bad spec", yaml: "capture: {telemetry: /dev/ttyS0}", wantErr: "capture.telemetry"},
		{name: "gates without telemetry", yaml: "gate: {min_height_m: 10}", wantErr: "gate: the capture gates need capture.telemetry"},
		{name: "bad armed", yaml: "capture: {telemetry: 'udp://:14550'}\ngate: {armed: yes}", wantErr: "gate.armed"},
		{name: "off nadir beyond 90", yaml: "capture: {telemetry: 'udp://:14550'}\ngate: {max_off_nadir_deg: 120}", wantErr: "gate.max_off_nadir_deg"},
		{name: "unknown gate key", yaml: "gate: {armed_only: true}", wantErr: "armed_only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Load(Sources{Path: writeConfig(t, tc.yaml), Board: tc.board, Detect: noBoard, Getenv: env(nil)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w, f := c.Lens(); w != tc.wantLens[0] || f != tc.wantLens[1] {
				t.Errorf("lens %v mm, %v mm; want %v", w, f, tc.wantLens)
			}
		})
	}
	c, _, err := Load(Sources{Path: writeConfig(t, `
capture: {telemetry: "tlog:/data/flight.tlog", telemetry_offset: "-11h"}
gate: {armed: required, every_m: 15}`), Detect: noBoard, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	g := c.GateOptions()
	if c.Capture.TelemetryOffset.D() != -11*time.Hour || c.Capture.TelemetryMaxGap.D() != time.Second || !g.Armed || g.EveryM != 15 || g.MinHeightM != 0 {
		t.Errorf("offset %v, max gap %v, gates %+v", c.Capture.TelemetryOffset, c.Capture.TelemetryMaxGap, g)
	}
}

// TestTelemetrySelectAndLens: with telemetry, select.mode auto keeps every
// frame (the gates choose) and a config with no camera assumes
// AssumedCamera; select.mode policy and a named camera win.
func TestTelemetrySelectAndLens(t *testing.T) {
	const tel = "capture: {telemetry: 'tlog:/data/flight.tlog'}\n"
	imx219 := [2]float64{3.674, 3.04}
	for _, tc := range []struct {
		name, yaml  string
		wantAll     bool
		wantLens    [2]float64
		wantAssumed bool
		wantErr     string
	}{
		{name: "no telemetry", yaml: "", wantAll: false},
		{name: "no telemetry, mode all", yaml: "select: {mode: all}", wantAll: true},
		{name: "telemetry, auto", yaml: tel, wantAll: true, wantLens: imx219, wantAssumed: true},
		{name: "telemetry, policy", yaml: tel + "select: {mode: policy}", wantAll: false, wantLens: imx219, wantAssumed: true},
		{name: "telemetry, camera named", yaml: tel + "camera: {model: pi-hq-16mm}", wantAll: true, wantLens: [2]float64{6.287, 16}},
		{name: "telemetry, camera by hand", yaml: tel + "camera: {sensor_width_mm: 13.2, focal_length_mm: 8.8}", wantAll: true, wantLens: [2]float64{13.2, 8.8}},
		{name: "bad mode", yaml: "select: {mode: some}", wantErr: "select.mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Load(Sources{Path: writeConfig(t, tc.yaml), Detect: noBoard, Getenv: env(nil)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := c.SelectionPolicy()
			if all := p.MinShare == 0 && p.MinInterval == 0 && p.Duplicates == "keep"; all != tc.wantAll {
				t.Errorf("policy %+v: keeps every frame %v, want %v", p, all, tc.wantAll)
			}
			if w, f, assumed := c.TelemetryLens(); w != tc.wantLens[0] || f != tc.wantLens[1] || assumed != tc.wantAssumed {
				t.Errorf("telemetry lens %v mm, %v mm, assumed %v; want %v, %v", w, f, assumed, tc.wantLens, tc.wantAssumed)
			}
		})
	}
}
