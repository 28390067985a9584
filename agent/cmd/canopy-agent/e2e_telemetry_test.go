package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/telemetry"
	"github.com/canopy-forest/canopy/internal/e2etest"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/wire"
)

// mavlinkData is ../shared/data/geo/mavlink (a real flight's log and five
// frames named by their UTC capture time), or the test is skipped.
func mavlinkData(t *testing.T) string {
	t.Helper()
	d := os.Getenv("CANOPY_SHARED_DATA")
	if d == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	dir := filepath.Join(d, "geo", "mavlink")
	if _, err := os.Stat(filepath.Join(dir, "flight.tlog")); err != nil {
		t.Skipf("no flight log: %v", err)
	}
	return dir
}

var flightFrames = []string{"exif2016111223464876Z.png", "exif2016111223465337Z.png", "raw2016111223465120Z.png",
	"raw2016111223465160Z.png", "raw2016111223465213Z.png"}

// droneConfig is an agent config for the flight's camera (CanberraUAV's
// PtGrey Chameleon 3: a 1/3" sensor 4.86 mm wide behind a 4 mm lens).
const droneConfig = "camera: {sensor_width_mm: 4.86, focal_length_mm: 4}\n"

// trackPoint is a GLOBAL_POSITION_INT sample of the flight at its record time.
type trackPoint struct {
	t        time.Time
	lat, lon float64
}

// flightTrack reads the vehicle's positions from the log, independently
// of the agent's buffer.
func flightTrack(t *testing.T, path string) []trackPoint {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := telemetry.NewLogReader(f)
	var out []trackPoint
	for {
		rec, err := r.Next()
		if err != nil {
			return out
		}
		if m, ok := rec.Frame.GetMessage().(*ardupilotmega.MessageGlobalPositionInt); ok && rec.Frame.GetSystemID() == 2 {
			out = append(out, trackPoint{rec.Time, float64(m.Lat) / 1e7, float64(m.Lon) / 1e7})
		}
	}
}

// at interpolates the track at t.
func at(track []trackPoint, t time.Time) (lat, lon float64, nearest time.Duration) {
	i := 1
	for i < len(track)-1 && track[i].t.Before(t) {
		i++
	}
	a, c := track[i-1], track[i]
	f := t.Sub(a.t).Seconds() / c.t.Sub(a.t).Seconds()
	return a.lat + (c.lat-a.lat)*f, a.lon + (c.lon-a.lon)*f, min(t.Sub(a.t).Abs(), c.t.Sub(t).Abs())
}

func metres(lat1, lon1, lat2, lon2 float64) float64 {
	return telemetry.Distance(telemetry.State{Lat: lat1, Lon: lon1}, telemetry.State{Lat: lat2, Lon: lon2})
}

// outboxItems reads the items a stopped agent left in its outbox.
func outboxItems(t *testing.T, data string) []wire.Item {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(data, "outbox.db"), outbox.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	recs, err := ob.Next("", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var items []wire.Item
	for _, r := range recs {
		items = append(items, r.Item)
	}
	return items
}

// TestE2ETelemetryLog runs the built agent over the flight's five frames
// and one taken three minutes after the log ends, with the flight's log:
// each frame in the log's time is placed within 2 m of the log's
// GLOBAL_POSITION_INT track at its time (from a sample within 1 s), with
// its height, yaw and GSD from telemetry, and its JPEG says so in EXIF and
// XMP; the late frame has no position and says why.
func TestE2ETelemetryLog(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-agent")
	shared := mavlinkData(t)
	tlog := filepath.Join(shared, "flight.tlog")
	src, data := t.TempDir(), t.TempDir()
	for _, n := range flightFrames {
		if err := os.Symlink(filepath.Join(shared, n), filepath.Join(src, n)); err != nil {
			t.Fatal(err)
		}
	}
	late := "late20161112235100Z.png"
	if err := os.Symlink(filepath.Join(shared, flightFrames[0]), filepath.Join(src, late)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(data, "agent.yaml")
	if err := os.WriteFile(cfg, []byte(droneConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--once", "--config", cfg, "--source", src, "--telemetry", "tlog:"+tlog, "--select", "all",
		"--data", filepath.Join(data, "state"), "--device", "drone-e2e", "--segmenter", "classical", "--board", "x86_64",
		"--metrics-listen", "")
	cmd.Env = append(os.Environ(), "CANOPY_MQTT_USERNAME=", "CANOPY_MQTT_PASSWORD=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("agent: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "outside the telemetry") {
		t.Errorf("the agent's log does not say why the late frame is not placed:\n%s", out)
	}
	track := flightTrack(t, tlog)
	items := outboxItems(t, filepath.Join(data, "state"))
	if len(items) != len(flightFrames)+1 {
		t.Fatalf("%d items, want %d\n%s", len(items), len(flightFrames)+1, out)
	}
	for _, it := range items {
		m := it.Meta
		if m.Source == late {
			if m.GPS != nil || m.HeightM != nil || m.GSD != 0 || !strings.Contains(m.GeoNote, "not placed by telemetry: outside the telemetry") {
				t.Errorf("late frame: gps %v height %v gsd %v note %q; want no position and the reason", m.GPS, m.HeightM, m.GSD, m.GeoNote)
			}
			continue
		}
		ts, _ := capture.NameTime(m.Source)
		lat, lon, nearest := at(track, ts)
		if m.GPS == nil || m.HeightM == nil || m.YawDeg == nil || m.GimbalPitchDeg == nil {
			t.Fatalf("%s: gps %v height %v yaw %v pitch %v (%s)", m.Source, m.GPS, m.HeightM, m.YawDeg, m.GimbalPitchDeg, m.GeoNote)
		}
		d := metres(m.GPS.Lat, m.GPS.Lon, lat, lon)
		wantGSD := 4.86 * *m.HeightM / (4 * 1280)
		t.Logf("%s: %.7f %.7f, %.1f m above home, yaw %.1f, pitch %.1f, gsd %.2f cm: %.2f m from the track (nearest sample %v)",
			m.Source, m.GPS.Lat, m.GPS.Lon, *m.HeightM, *m.YawDeg, *m.GimbalPitchDeg, m.GSD*100, d, nearest)
		if d > 2 || nearest > time.Second || *m.HeightM < 10 || *m.HeightM > 25 || m.GSDSource != "telemetry" ||
			math.Abs(m.GSD/wantGSD-1) > 1e-6 || !m.CapturedAt.Equal(ts) {
			t.Errorf("%s: %.2f m from the track, nearest sample %v, height %v, gsd %v (%s), captured %v; want within 2 m and 1 s, gsd %v from telemetry at %v",
				m.Source, d, nearest, *m.HeightM, m.GSD, m.GSDSource, m.CapturedAt, wantGSD, ts)
		}
		p := photo.Read(it.Part(wire.PartImage))
		if p.GPS == nil || metres(p.GPS.Lat, p.GPS.Lon, m.GPS.Lat, m.GPS.Lon) > 0.01 || p.RelAltM == nil || p.GimbalYawDeg == nil {
			t.Errorf("%s: the JPEG's EXIF/XMP %+v does not carry the position", m.Source, p)
		}
	}
}

// syncBuffer is a concurrency-safe buffer for a child's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestE2ETelemetryReplay replays the flight's log live over UDP (canopy-agent
// telemetry replay, from its first minute on, at ten times its speed) into
// a running agent that follows a folder, and into telemetry show. Frames
// written to the folder meanwhile are placed on the flight's track where
// the vehicle was when they were written.
func TestE2ETelemetryReplay(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-agent")
	shared := mavlinkData(t)
	tlog := filepath.Join(shared, "flight.tlog")
	src, data := t.TempDir(), t.TempDir()
	cfg := filepath.Join(data, "agent.yaml")
	if err := os.WriteFile(cfg, []byte(droneConfig+"capture: {follow: 200ms, settle: 100ms}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	agentUDP, showUDP := freeUDP(t), freeUDP(t)
	var agentLog syncBuffer
	agent := exec.Command(bin, "run", "--config", cfg, "--source", src, "--telemetry", "udp://"+agentUDP, "--select", "all",
		"--data", filepath.Join(data, "state"), "--device", "drone-live", "--segmenter", "classical", "--board", "x86_64",
		"--metrics-listen", "")
	agent.Env = append(os.Environ(), "CANOPY_MQTT_USERNAME=", "CANOPY_MQTT_PASSWORD=")
	agent.Stderr = &agentLog
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			agent.Process.Kill()
			agent.Wait()
		}
	}()
	show := exec.Command(bin, "telemetry", "show", "--telemetry", "udp://"+showUDP, "--json", "--count", "4")
	showOut, err := show.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := show.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // both listening
	const speed, skip = 10.0, 60 * time.Second
	// replay starts a replay and returns when it is about to send its first
	// record (it says "replaying" first): on a loaded machine a process
	// takes a while to start, and at ten times the log's speed every tenth
	// of a second is ten metres of the track.
	replay := func(to string) (*exec.Cmd, time.Time) {
		c := exec.Command(bin, "telemetry", "replay", tlog, "--to", "udp://"+to, "--speed", "10", "--skip", skip.String())
		stderr, err := c.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		if !sc.Scan() || !strings.HasPrefix(sc.Text(), "replaying") {
			t.Fatalf("replay said %q, want replaying ...", sc.Text())
		}
		started := time.Now()
		go io.Copy(io.Discard, stderr)
		return c, started
	}
	r1, start := replay(agentUDP)
	r2, _ := replay(showUDP)
	png, err := os.ReadFile(filepath.Join(shared, flightFrames[2]))
	if err != nil {
		t.Fatal(err)
	}
	var written []time.Time
	for i, after := range []time.Duration{1500 * time.Millisecond, 3 * time.Second, 4500 * time.Millisecond} {
		time.Sleep(time.Until(start.Add(after)))
		p := filepath.Join(src, "frame-"+string(rune('1'+i))+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(p)
		written = append(written, fi.ModTime())
	}
	for _, r := range []*exec.Cmd{r1, r2} {
		if err := r.Wait(); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(agentLog.String(), "msg=item") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not put 3 items:\n%s", agentLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	agent.Process.Signal(syscall.SIGTERM)
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent: %v\n%s", err, agentLog.String())
	}
	stopped = true

	// The vehicle's log time when a frame was written: the first record
	// sent is the log's first plus skip, sent at start.
	track := flightTrack(t, tlog)
	first := track[0].t
	f, _ := os.Open(tlog)
	if rec, err := telemetry.NewLogReader(f).Next(); err == nil {
		first = rec.Time
	}
	f.Close()
	items := outboxItems(t, filepath.Join(data, "state"))
	if len(items) != 3 {
		t.Fatalf("%d items, want 3", len(items))
	}
	for i, it := range items {
		m := it.Meta
		if m.GPS == nil || m.HeightM == nil || m.GSDSource != "telemetry" {
			t.Fatalf("%s: not placed: gps %v height %v gsd %v (%s), note %q\n%s", m.Source, m.GPS, m.HeightM, m.GSD, m.GSDSource, m.GeoNote, agentLog.String())
		}
		logTime := first.Add(skip).Add(time.Duration(float64(written[i].Sub(start)) * speed))
		// On the track: the nearest point of the track within 5 s (of log
		// time; 0.5 s of replay) of when it was written.
		best := math.Inf(1)
		for d := -5 * time.Second; d <= 5*time.Second; d += 10 * time.Millisecond {
			lat, lon, _ := at(track, logTime.Add(d))
			best = min(best, metres(m.GPS.Lat, m.GPS.Lon, lat, lon))
		}
		t.Logf("%s: %.7f %.7f, %.1f m above home: %.2f m from the track near log time %s", m.Source, m.GPS.Lat, m.GPS.Lon,
			*m.HeightM, best, logTime.Format("15:04:05.0"))
		if best > 2 {
			t.Errorf("%s: %.1f m from the flight's track around log time %s", m.Source, best, logTime.Format("15:04:05.0"))
		}
	}

	// telemetry show printed the live state once a second.
	var lines []map[string]any
	sc := bufio.NewScanner(showOut)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			lines = append(lines, l)
		}
	}
	if err := show.Wait(); err != nil {
		t.Errorf("show: %v", err)
	}
	placed := 0
	for _, l := range lines {
		if lat, _ := l["lat"].(float64); lat < -35.3 && lat > -35.4 {
			placed++
		}
	}
	if placed < 2 {
		t.Errorf("telemetry show: %d of %d lines with the vehicle's position: %v", placed, len(lines), lines)
	}
}

// TestE2ETelemetryShowLog prints the log's state, a line a second.
func TestE2ETelemetryShowLog(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-agent")
	shared := mavlinkData(t)
	out, err := exec.Command(bin, "telemetry", "show", "--telemetry", "tlog:"+filepath.Join(shared, "flight.tlog")).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 120 || !strings.Contains(lines[len(lines)-1], "2016-11-12T23:47:") || !strings.Contains(string(out), "armed") {
		t.Errorf("%d lines, the last %q", len(lines), lines[len(lines)-1])
	}
}

// freeUDP returns a loopback UDP address that was free a moment ago.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}
