package config

import (
	"fmt"
	"math"

	"github.com/canopy-forest/canopy/agent/telemetry"
	"github.com/canopy-forest/canopy/boards"
)

// Camera describes the device's camera, for the ground sample distance of
// its frames (and the EXIF written into them). Default: the board
// profile's camera model.
type Camera struct {
	// Model names a known camera (boards/cameras.yaml: pi-camera-3,
	// pi-hq-6mm, imx219, imx477, ...) whose sensor width and focal length
	// are used where the two keys below are 0.
	Model string `yaml:"model"`
	// SensorWidthMM is the width of the sensor area that makes the frame,
	// and FocalLengthMM the lens's focal length, in millimetres.
	SensorWidthMM float64 `yaml:"sensor_width_mm"`
	FocalLengthMM float64 `yaml:"focal_length_mm"`
}

// Gate is the capture gates of a flight (agent/telemetry.Gate): which
// frames it captures.
// The zero value lets every frame through; any gate needs
// capture.telemetry.
type Gate struct {
	// Armed is "any" (default) or "required": frames only while the
	// vehicle's motors are armed.
	Armed string `yaml:"armed"`
	// MinHeightM: frames only at least this high above home (0: any).
	MinHeightM float64 `yaml:"min_height_m"`
	// MaxOffNadirDeg: frames only with the camera within this many
	// degrees of straight down (0: any).
	MaxOffNadirDeg float64 `yaml:"max_off_nadir_deg"`
	// EveryM: at most one frame per this many metres travelled, in place
	// of a frame rate (0: any).
	EveryM float64 `yaml:"every_m"`
}

// Values of Gate.Armed.
const (
	ArmedAny      = "any"
	ArmedRequired = "required"
)

// Lens returns the camera's sensor width and focal length in millimetres:
// the camera section's values, else its model's (0 when unknown).
func (c Config) Lens() (sensorWidthMM, focalMM float64) {
	sensorWidthMM, focalMM = c.Camera.SensorWidthMM, c.Camera.FocalLengthMM
	if c.Camera.Model != "" {
		if m, err := boards.LookupCamera(c.Camera.Model); err == nil {
			if sensorWidthMM == 0 {
				sensorWidthMM = m.SensorWidthMM
			}
			if focalMM == 0 {
				focalMM = m.FocalLengthMM
			}
		}
	}
	return sensorWidthMM, focalMM
}

// AssumedCamera is the camera whose field of view gives the GSD of frames
// placed by telemetry when no camera is configured: the Raspberry Pi
// Camera Module 2 (IMX219, 62 degrees across), near most companion
// computers' CSI and USB cameras.
const AssumedCamera = "imx219"

// TelemetryLens is Lens for frames that telemetry places: with no camera
// known, AssumedCamera's sensor and lens, and assumed true.
func (c Config) TelemetryLens() (sensorWidthMM, focalMM float64, assumed bool) {
	sensorWidthMM, focalMM = c.Lens()
	if c.Capture.Telemetry == "" || (sensorWidthMM > 0 && focalMM > 0) {
		return sensorWidthMM, focalMM, false
	}
	m, err := boards.LookupCamera(AssumedCamera)
	if err != nil {
		return sensorWidthMM, focalMM, false
	}
	return m.SensorWidthMM, m.FocalLengthMM, true
}

// GateOptions returns the gate section as telemetry.GateOptions.
func (c Config) GateOptions() telemetry.GateOptions {
	return telemetry.GateOptions{Armed: c.Gate.Armed == ArmedRequired, MinHeightM: c.Gate.MinHeightM,
		MaxOffNadirDeg: c.Gate.MaxOffNadirDeg, EveryM: c.Gate.EveryM}
}

// validateDrone reports the problems of the telemetry, camera and gate
// settings.
func (c Config) validateDrone() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	cp := c.Capture
	if cp.Telemetry != "" {
		if _, err := telemetry.ParseSpec(cp.Telemetry); err != nil {
			bad("capture.telemetry: %v", err)
		}
	}
	if cp.TelemetryMaxGap < 0 {
		bad("capture.telemetry_max_gap %v is negative", cp.TelemetryMaxGap)
	}
	inRange := func(key string, v, hi float64) {
		if math.IsNaN(v) || v < 0 || v > hi {
			bad("%s %v: want 0 to %v (0 = unset)", key, v, hi)
		}
	}
	if c.Camera.Model != "" {
		if _, err := boards.LookupCamera(c.Camera.Model); err != nil {
			bad("camera.model: %v", err)
		}
	}
	inRange("camera.sensor_width_mm", c.Camera.SensorWidthMM, 100)
	inRange("camera.focal_length_mm", c.Camera.FocalLengthMM, 2000)
	g := c.Gate
	switch g.Armed {
	case "", ArmedAny, ArmedRequired:
	default:
		bad("gate.armed %q: want any or required", g.Armed)
	}
	inRange("gate.min_height_m", g.MinHeightM, 10000)
	inRange("gate.max_off_nadir_deg", g.MaxOffNadirDeg, 90)
	inRange("gate.every_m", g.EveryM, 100000)
	if c.GateOptions().Enabled() && cp.Telemetry == "" {
		bad("gate: the capture gates need capture.telemetry (the flight controller's telemetry)")
	}
	return errs
}
