//go:build opencv

package e2e

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestDroneTelemetryScan sends the five frames of a real ArduPlane flight
// (../shared/data/geo/mavlink, each named by its UTC capture time) and one
// taken after the flight through the agent with the flight's telemetry
// log (--telemetry tlog:FILE): GET /v1/images shows each flight frame with
// lat, lon, height_m, yaw_deg and gsd_m from telemetry, and its crowns
// placed; the late frame has none, and its geo_note says why.
func TestDroneTelemetryScan(t *testing.T) {
	bin := binDir(t)
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	shared := filepath.Join(data, "geo", "mavlink")
	if _, err := os.Stat(filepath.Join(shared, "flight.tlog")); err != nil {
		t.Skipf("no flight log: %v", err)
	}
	src := t.TempDir()
	names := []string{"exif2016111223464876Z.png", "exif2016111223465337Z.png", "raw2016111223465120Z.png",
		"raw2016111223465160Z.png", "raw2016111223465213Z.png"}
	for _, n := range names {
		if err := os.Symlink(filepath.Join(shared, n), filepath.Join(src, n)); err != nil {
			t.Fatal(err)
		}
	}
	const late = "late20161112235100Z.png"
	if err := os.Symlink(filepath.Join(shared, names[0]), filepath.Join(src, late)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	// As a user runs it: no select section (with telemetry every frame
	// goes) and no camera (the agent assumes an imx219 and says so).
	if err := os.WriteFile(cfg, []byte("sync: {ack_timeout: 3s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cloudData := t.TempDir()
	httpAddr, mqttAddr := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	cloud := start(t, nil, filepath.Join(bin, "canopy-cloud"), "serve", "--data", cloudData, "--http", httpAddr,
		"--mqtt-listen", mqttAddr, "--auth=off", "--gsd-default", "0.1")
	waitReady(t, httpAddr, cloud)
	cred := register(t, bin, "drone-tlog", "--data", cloudData)
	agent := start(t, cred.env(), filepath.Join(bin, "canopy-agent"), "run", "--once", "--config", cfg, "--source", src,
		"--telemetry", "tlog:"+filepath.Join(shared, "flight.tlog"), "--data", t.TempDir(), "--broker", "tcp://"+mqttAddr,
		"--device", "drone-tlog", "--segmenter", "classical", "--scan-id", "runway", "--cloud-key", cred.CloudKey)
	if err := wait(t, agent, 120*time.Second); err != nil {
		t.Fatalf("agent: %v\n%s", err, tail(agent.log.String(), 3000))
	}
	base := "http://" + httpAddr
	var sv api.ScanView
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		getJSON(t, base+"/v1/scans/runway", &sv)
		if sv.Counted == len(names)+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d images counted after 2 minutes", sv.Counted, len(names)+1)
		}
	}
	for _, im := range sv.Images {
		var img db.Image
		getJSON(t, base+"/v1/images/"+im.ItemID, &img)
		c := img.Count
		if img.Source == late {
			if img.Lat != nil || img.HeightM != nil || img.GSDSource == "telemetry" || !strings.Contains(img.GeoNote, "outside the telemetry") ||
				c.Positions != "" {
				t.Errorf("late frame: lat %v height %v gsd %v (%s) note %q, positions %q; want none, and the reason",
					img.Lat, img.HeightM, img.GSD, img.GSDSource, img.GeoNote, c.Positions)
			}
			continue
		}
		if img.Lat == nil || img.Lon == nil || img.HeightM == nil || img.YawDeg == nil || img.GSDSource != "telemetry" ||
			math.Abs(img.GSD-3.674**img.HeightM/(3.04*1280)) > 1e-9 || c.GSD != img.GSD || c.Positions != db.PlacedNadir {
			t.Errorf("%s: lat %v lon %v height %v yaw %v gsd %v (%s); counted at %v, positions %q (%s)", img.Source, img.Lat, img.Lon,
				img.HeightM, img.YawDeg, img.GSD, img.GSDSource, c.GSD, c.Positions, c.PositionNote)
			continue
		}
		placed := 0
		for _, b := range c.Boxes {
			if b.Lat != nil {
				placed++
			}
		}
		if placed != len(c.Boxes) || len(c.Footprint) != 4 {
			t.Errorf("%s: %d of %d crowns placed, footprint %v", img.Source, placed, len(c.Boxes), c.Footprint)
		}
		t.Logf("%s: %.7f %.7f, %.1f m above home, yaw %.1f, gsd %.2f cm (%s): %d crowns placed", img.Source, *img.Lat, *img.Lon,
			*img.HeightM, *img.YawDeg, img.GSD*100, img.GSDSource, placed)
	}
	cloud.cmd.Process.Signal(os.Interrupt)
	if err := wait(t, cloud, 20*time.Second); err != nil {
		t.Errorf("cloud stop: %v", err)
	}
}
