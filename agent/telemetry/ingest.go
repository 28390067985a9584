package telemetry

import (
	"math"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// bootClock maps the vehicle's time since boot (the time_boot_ms of its
// messages) to the board's clock. The offset is the least (receive time -
// boot time) seen over the last two windows: the message that came with
// the least delay, so that the jitter of the link does not move samples,
// while a drifting clock is followed. A boot time that goes back (the
// vehicle rebooted), or a delay 5 s longer than the least, starts it
// again.
type bootClock struct {
	cur, prev time.Duration
	start     time.Time
	lastBoot  uint32
	ok        bool
}

// clockWindow is the window of bootClock.
const clockWindow = 10 * time.Second

// board returns the board time of the vehicle time bootMs, learning from
// a message received at recv.
func (c *bootClock) board(bootMs uint32, recv time.Time) time.Time {
	boot := time.UnixMilli(int64(bootMs))
	d := recv.Sub(boot)
	switch {
	case !c.ok || bootMs+1000 < c.lastBoot || d > min(c.cur, c.prev)+5*time.Second:
		c.cur, c.prev, c.start, c.ok = d, d, recv, true
	case recv.Sub(c.start) > clockWindow:
		c.prev, c.cur, c.start = c.cur, d, recv
	case d < c.cur:
		c.cur = d
	}
	c.lastBoot = bootMs
	return boot.Add(min(c.cur, c.prev))
}

// add takes what msg, from system sys and component comp, says about the
// vehicle. A log's messages are all stamped at recv (the record's time,
// clock nil); a live link's messages that carry a boot time are stamped
// through clock, the others at recv.
func (b *Buffer) add(sys, comp uint8, msg message.Message, recv time.Time, clock *bootClock) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.vehicle(sys, msg) {
		return
	}
	b.msgs++
	at := func(bootMs uint32) time.Time {
		if clock == nil {
			return recv
		}
		return clock.board(bootMs, recv)
	}
	var newest time.Time
	switch m := msg.(type) {
	case *ardupilotmega.MessageHeartbeat:
		if m.Autopilot == ardupilotmega.MAV_AUTOPILOT_INVALID || m.Type == ardupilotmega.MAV_TYPE_GCS {
			return // a gimbal's, camera's or ground station's heartbeat
		}
		b.arm = insert(b.arm, armedSample{t: recv, armed: m.BaseMode&ardupilotmega.MAV_MODE_FLAG_SAFETY_ARMED != 0})
		newest = recv
	case *ardupilotmega.MessageGlobalPositionInt:
		t := at(m.TimeBootMs)
		if m.Lat == 0 && m.Lon == 0 {
			return // no position estimate yet
		}
		p := position{t: t, lat: float64(m.Lat) / 1e7, lon: float64(m.Lon) / 1e7, alt: float64(m.Alt) / 1000,
			rel: float64(m.RelativeAlt) / 1000, vn: float64(m.Vx) / 100, ve: float64(m.Vy) / 100, vd: float64(m.Vz) / 100,
			hdg: math.NaN()}
		if m.Hdg != math.MaxUint16 {
			p.hdg = float64(m.Hdg) / 100
		}
		b.pos = insert(b.pos, p)
		b.npos++
		newest = t
		close(b.wake)
		b.wake = make(chan struct{})
	case *ardupilotmega.MessageAttitude:
		t := at(m.TimeBootMs)
		b.att = insert(b.att, attitude{t: t, roll: deg(m.Roll), pitch: deg(m.Pitch), yaw: wrap360(deg(m.Yaw))})
		newest = t
	case *ardupilotmega.MessageGpsRawInt:
		b.fix = insert(b.fix, fixSample{t: recv, fix: int(m.FixType), sats: int(m.SatellitesVisible)})
		newest = recv
	case *ardupilotmega.MessageSystemTime:
		t := at(m.TimeBootMs)
		if m.TimeUnixUsec > 0 {
			b.utcOff, b.hasUTC = time.UnixMicro(int64(m.TimeUnixUsec)).Sub(t), true
		}
	case *ardupilotmega.MessageGimbalDeviceAttitudeStatus:
		t := at(m.TimeBootMs)
		roll, pitch, yaw := euler(m.Q)
		f := m.Flags
		earth := f&ardupilotmega.GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME != 0 ||
			(f&ardupilotmega.GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME == 0 && f&ardupilotmega.GIMBAL_DEVICE_FLAGS_YAW_LOCK != 0)
		b.gim = insert(b.gim, gimbalSample{t: t, g: Gimbal{PitchDeg: pitch, RollDeg: roll, YawDeg: yaw}, earth: earth})
		newest = t
	case *ardupilotmega.MessageMountStatus:
		// ArduPilot: centidegrees, yaw from the vehicle's nose.
		b.gim = insert(b.gim, gimbalSample{t: recv, g: Gimbal{PitchDeg: float64(m.PointingA) / 100,
			RollDeg: float64(m.PointingB) / 100, YawDeg: float64(m.PointingC) / 100}})
		newest = recv
	}
	if !newest.IsZero() {
		b.pos = trim(b.pos, newest, b.keep)
		b.att = trim(b.att, newest, b.keep)
		b.gim = trim(b.gim, newest, b.keep)
		b.arm = trim(b.arm, newest, b.keep)
		b.fix = trim(b.fix, newest, b.keep)
	}
}

// vehicle reports whether a message from system sys is the vehicle's:
// the first system that sends a position or an autopilot's heartbeat is
// taken as the vehicle, and other systems (ground stations, a second
// vehicle on the link) are ignored.
func (b *Buffer) vehicle(sys uint8, msg message.Message) bool {
	if b.sys != 0 {
		return sys == b.sys
	}
	switch m := msg.(type) {
	case *ardupilotmega.MessageHeartbeat:
		if m.Autopilot == ardupilotmega.MAV_AUTOPILOT_INVALID || m.Type == ardupilotmega.MAV_TYPE_GCS {
			return false
		}
	case *ardupilotmega.MessageGlobalPositionInt:
	default:
		return false
	}
	b.sys = sys
	return true
}

func deg(r float32) float64 { return float64(r) * 180 / math.Pi }

// euler turns a quaternion (w, x, y, z) into roll, pitch and yaw in
// degrees (aerospace sequence: yaw, then pitch, then roll).
func euler(q [4]float32) (roll, pitch, yaw float64) {
	w, x, y, z := float64(q[0]), float64(q[1]), float64(q[2]), float64(q[3])
	roll = math.Atan2(2*(w*x+y*z), 1-2*(x*x+y*y))
	pitch = math.Asin(math.Max(-1, math.Min(1, 2*(w*y-z*x))))
	yaw = math.Atan2(2*(w*z+x*y), 1-2*(y*y+z*z))
	return roll * 180 / math.Pi, pitch * 180 / math.Pi, yaw * 180 / math.Pi
}
