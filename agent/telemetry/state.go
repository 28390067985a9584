package telemetry

import (
	"math"
	"strings"
	"time"
)

// Armed is whether the vehicle's motors are armed (HEARTBEAT base_mode).
type Armed int

// States of Armed.
const (
	ArmedUnknown Armed = iota // no HEARTBEAT from the autopilot yet
	ArmedNo
	ArmedYes
)

func (a Armed) String() string {
	switch a {
	case ArmedYes:
		return "armed"
	case ArmedNo:
		return "disarmed"
	}
	return "unknown"
}

// Gimbal is the camera's attitude as a gimbal reports it
// (GIMBAL_DEVICE_ATTITUDE_STATUS or MOUNT_STATUS), in degrees: pitch -90
// looks straight down, yaw is clockwise from north.
type Gimbal struct {
	PitchDeg, RollDeg, YawDeg float64
}

// State is the vehicle's state at one time: where it was, how high, and
// how it (and its camera) pointed.
type State struct {
	// Time is the time asked for.
	Time time.Time
	// Lat and Lon are the WGS 84 position in degrees (GLOBAL_POSITION_INT).
	Lat, Lon float64
	// AltM is the altitude above mean sea level and HeightM the height
	// above home (the take-off point), in metres.
	AltM, HeightM float64
	// SpeedMS is the ground speed in metres a second.
	SpeedMS float64
	// YawDeg is the vehicle's heading in [0, 360), clockwise from north;
	// PitchDeg (nose up positive) and RollDeg (right wing down positive)
	// are its attitude. HasAttitude is false when no ATTITUDE was near
	// enough: YawDeg then comes from GLOBAL_POSITION_INT's heading (when
	// it has one) and pitch and roll are unknown.
	YawDeg, PitchDeg, RollDeg float64
	HasAttitude               bool
	// HasYaw is false when neither ATTITUDE nor a heading was known.
	HasYaw bool
	// Gimbal is the camera's attitude when a gimbal reports one; nil
	// means the camera is fixed to the airframe, looking straight down.
	Gimbal *Gimbal
	// Armed is the motors' state at Time.
	Armed Armed
	// Fix and Satellites are the GPS fix type (GPS_RAW_INT: 3 is 3D)
	// and the satellites visible; Fix is -1 when unknown.
	Fix, Satellites int
	// Notes say what is approximate ("extrapolated 0.4 s past the last
	// position").
	Notes []string
}

// Note joins the notes.
func (s State) Note() string { return strings.Join(s.Notes, "; ") }

// CameraYawDeg is the heading of the image's top edge, in [0, 360): the
// gimbal's yaw, else the vehicle's (a fixed camera whose image top points
// to the nose). ok is false when no heading is known.
func (s State) CameraYawDeg() (deg float64, ok bool) {
	if s.Gimbal != nil {
		return s.Gimbal.YawDeg, true
	}
	return s.YawDeg, s.HasYaw
}

// CameraPitchDeg is the camera's pitch in the convention of a gimbal (-90
// straight down, 0 level ahead): the gimbal's, or, for a camera fixed to
// the airframe looking down, -90 minus the vehicle's pitch. ok is false
// when the attitude is unknown.
func (s State) CameraPitchDeg() (deg float64, ok bool) {
	if s.Gimbal != nil {
		return s.Gimbal.PitchDeg, true
	}
	if !s.HasAttitude {
		return 0, false
	}
	return -90 - s.PitchDeg, true
}

// CameraRollDeg is the camera's roll: the gimbal's, else the vehicle's.
func (s State) CameraRollDeg() (deg float64, ok bool) {
	if s.Gimbal != nil {
		return s.Gimbal.RollDeg, true
	}
	if !s.HasAttitude {
		return 0, false
	}
	return s.RollDeg, true
}

// OffNadirDeg is the angle between the camera's axis and straight down.
func (s State) OffNadirDeg() (deg float64, ok bool) {
	p, ok1 := s.CameraPitchDeg()
	r, ok2 := s.CameraRollDeg()
	if !ok1 || !ok2 {
		return 0, false
	}
	c := math.Cos(rad(r)) * math.Cos(rad(p+90))
	return math.Acos(math.Max(-1, math.Min(1, c))) * 180 / math.Pi, true
}

func rad(deg float64) float64 { return deg * math.Pi / 180 }

// wrap360 maps an angle in degrees to [0, 360).
func wrap360(deg float64) float64 {
	d := math.Mod(deg, 360)
	if d < 0 {
		d += 360
	}
	if d >= 360 {
		d = 0
	}
	return d
}

// lerpAngle interpolates between two angles in degrees along the shorter
// arc, in [0, 360).
func lerpAngle(a, b, f float64) float64 {
	d := math.Mod(b-a+540, 360) - 180
	return wrap360(a + d*f)
}
