package telemetry

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/frame"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
	"github.com/bluenviron/gomavlib/v3/pkg/streamwriter"
)

// entry is one message of a synthetic log.
type entry struct {
	t   time.Time
	sys uint8
	msg message.Message
}

// encodeLog writes entries as a .tlog.
func encodeLog(t testing.TB, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	writers := map[uint8]*streamwriter.Writer{}
	for _, e := range es {
		w := writers[e.sys]
		if w == nil {
			fw := &frame.Writer{ByteWriter: &buf, DialectRW: dialectRW}
			if err := fw.Initialize(); err != nil {
				t.Fatal(err)
			}
			w = &streamwriter.Writer{FrameWriter: fw, Version: streamwriter.V2, SystemID: e.sys, ComponentID: 1}
			if err := w.Initialize(); err != nil {
				t.Fatal(err)
			}
			writers[e.sys] = w
		}
		var stamp [8]byte
		binary.BigEndian.PutUint64(stamp[:], uint64(e.t.UnixMicro()))
		buf.Write(stamp[:])
		if err := w.Write(e.msg); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// flight is a synthetic flight of vehicle 1 heading east at speed m/s,
// height 50 m, from (lat0, lon0) at t0: a HEARTBEAT (armed) a second, and
// GLOBAL_POSITION_INT and ATTITUDE at hz for dur. A ground station
// (system 255) sends its own heartbeats and a bogus position.
type flight struct {
	t0         time.Time
	lat0, lon0 float64
	speed      float64
	hz         float64
	dur        time.Duration
}

var testFlight = flight{t0: time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC), lat0: 47.1, lon0: 8.5, speed: 10, hz: 5, dur: 20 * time.Second}

// at is where the flight is at time t (exactly: the messages round it).
func (f flight) at(t time.Time) (lat, lon float64) {
	east := f.speed * t.Sub(f.t0).Seconds()
	return f.lat0, f.lon0 + east/(earthRadius*math.Cos(rad(f.lat0)))*180/math.Pi
}

func (f flight) entries() []entry {
	var es []entry
	step := time.Duration(float64(time.Second) / f.hz)
	for d := time.Duration(0); d <= f.dur; d += step {
		t := f.t0.Add(d)
		boot := uint32(60000 + d.Milliseconds())
		if d%time.Second == 0 {
			es = append(es, entry{t, 1, &ardupilotmega.MessageHeartbeat{Type: ardupilotmega.MAV_TYPE_QUADROTOR,
				Autopilot: ardupilotmega.MAV_AUTOPILOT_ARDUPILOTMEGA, BaseMode: ardupilotmega.MAV_MODE_FLAG_SAFETY_ARMED}})
			es = append(es, entry{t, 255, &ardupilotmega.MessageHeartbeat{Type: ardupilotmega.MAV_TYPE_GCS, Autopilot: ardupilotmega.MAV_AUTOPILOT_INVALID}})
			es = append(es, entry{t, 255, &ardupilotmega.MessageGlobalPositionInt{Lat: 1, Lon: 1}})
			es = append(es, entry{t, 1, &ardupilotmega.MessageSystemTime{TimeUnixUsec: uint64(t.Add(18 * time.Second).UnixMicro()), TimeBootMs: boot}})
		}
		lat, lon := f.at(t)
		es = append(es, entry{t, 1, &ardupilotmega.MessageGlobalPositionInt{TimeBootMs: boot, Lat: int32(math.Round(lat * 1e7)),
			Lon: int32(math.Round(lon * 1e7)), Alt: 450_000, RelativeAlt: 50_000, Vy: int16(f.speed * 100), Hdg: 9000}})
		es = append(es, entry{t.Add(step / 2), 1, &ardupilotmega.MessageAttitude{TimeBootMs: boot + uint32(step.Milliseconds()/2),
			Roll: 0.02, Pitch: -0.05, Yaw: float32(math.Pi / 2)}})
	}
	return es
}

// metres is the distance between two positions.
func metres(lat1, lon1, lat2, lon2 float64) float64 {
	return Distance(State{Lat: lat1, Lon: lon1}, State{Lat: lat2, Lon: lon2})
}
