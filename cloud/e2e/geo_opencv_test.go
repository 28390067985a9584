//go:build opencv

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/internal/e2etest"
	"github.com/canopy-forest/canopy/internal/photo"
)

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestDroneStripScan sends the six photos of one flight strip (DJI_0018 to
// DJI_0023, each about 10 m from the next) through the agent to the cloud:
// every item carries its GSD, height, yaw and pitch, the stored JPEG keeps
// the photo's EXIF and XMP, every crown is placed, and the scan, merged by
// position, counts fewer trees than the six counts added up. A photo of
// the next strip (flown the other way) is sent as a second scan with one
// of the first, to measure how far the same crowns land apart.
func TestDroneStripScan(t *testing.T) {
	bin := binDir(t)
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	photos := filepath.Join(data, "geo", "drone_photos", "images")
	link := func(names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.Symlink(filepath.Join(photos, n), filepath.Join(dir, n)); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	strip := link("DJI_0018.JPG", "DJI_0019.JPG", "DJI_0020.JPG", "DJI_0021.JPG", "DJI_0022.JPG", "DJI_0023.JPG")
	cross := link("DJI_0021.JPG", "DJI_0026.JPG")
	cloudData := t.TempDir()
	httpAddr, mqttAddr := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	cloud := start(t, nil, filepath.Join(bin, "canopy-cloud"), "serve", "--data", cloudData, "--http", httpAddr,
		"--mqtt-listen", mqttAddr, "--auth=off", "--gsd-default", "0.1")
	waitReady(t, httpAddr, cloud)
	for scanID, dir := range map[string]string{"strip-1": strip, "cross": cross} {
		cred := register(t, bin, "drone-"+scanID, "--data", cloudData)
		agent := start(t, cred.env(), filepath.Join(bin, "canopy-agent"), "run", "--once", "--config", agentConfig(t, "canopy"),
			"--source", dir, "--data", t.TempDir(), "--broker", "tcp://"+mqttAddr, "--device", "drone-"+scanID,
			"--segmenter", "classical", "--scan-id", scanID, "--cloud-key", cred.CloudKey)
		if err := wait(t, agent, 240*time.Second); err != nil {
			t.Fatalf("agent: %v\n%s", err, tail(agent.log.String(), 3000))
		}
	}
	base := "http://" + httpAddr
	scans := map[string]api.ScanView{}
	for scanID, n := range map[string]int{"strip-1": 6, "cross": 2} {
		deadline := time.Now().Add(4 * time.Minute)
		var sv api.ScanView
		for {
			getJSON(t, base+"/v1/scans/"+scanID, &sv)
			// Counted, and the registrar done with it: it merges the trees
			// again once it has registered the photos, so a scan read
			// before then changes under the test.
			// A photo's count and the registrar's dirty mark are written
			// apart, so a scan can look settled for a moment with its last
			// photo not yet registered: settled twice, a registrar's claim
			// delay (5 s) apart, with the same trees.
			settled := func(sv api.ScanView) bool {
				return sv.Counted == n && (sv.Registration == nil || (sv.Registration.State != "pending" && !sv.Registration.Pending))
			}
			if settled(sv) {
				time.Sleep(6 * time.Second)
				var again api.ScanView
				getJSON(t, base+"/v1/scans/"+scanID, &again)
				if settled(again) && again.TotalTrees == sv.TotalTrees {
					break
				}
				sv = again
			}
			if time.Now().After(deadline) {
				t.Fatalf("scan %s: %d of %d images counted after 4 minutes, registration %+v", scanID, sv.Counted, n, sv.Registration)
			}
			time.Sleep(500 * time.Millisecond)
		}
		scans[scanID] = sv
	}

	sv := scans["strip-1"]
	var images []db.Image
	for _, im := range sv.Images {
		var img db.Image
		getJSON(t, base+"/v1/images/"+im.ItemID, &img)
		images = append(images, img)
		c := img.Count
		if math.Abs(img.GSD/0.0178-1) > 0.05 || img.GSDSource != "camera" || img.HeightM == nil || img.YawDeg == nil ||
			img.GimbalPitchDeg == nil || c.GSD != img.GSD || c.Positions != db.PlacedNadir {
			t.Errorf("%s: gsd %v (%s), height %v, yaw %v, pitch %v; counted at %v, positions %q (%s)", img.Source, img.GSD,
				img.GSDSource, img.HeightM, img.YawDeg, img.GimbalPitchDeg, c.GSD, c.Positions, c.PositionNote)
		}
		t.Logf("%s: gsd %.2f cm, yaw %+.1f°, %d crowns", img.Source, img.GSD*100, *img.YawDeg, c.Count)
	}
	sort.Slice(images, func(i, j int) bool { return images[i].Source < images[j].Source })
	if sv.TotalTrees >= sv.SumOfCounts || sv.PlacedTrees != sv.TotalTrees || sv.TreesPerHa == nil || sv.AreaHa < 0.3 || sv.AreaHa > 1 {
		t.Errorf("scan: %d trees merged from %d counted, %d placed, %.3f ha, %v per ha; want fewer merged than counted, all placed",
			sv.TotalTrees, sv.SumOfCounts, sv.PlacedTrees, sv.AreaHa, sv.TreesPerHa)
	}
	t.Logf("strip-1: the six photos count %d crowns; merged (registration %s), %d trees over %.3f ha (%.0f trees/ha)",
		sv.SumOfCounts, sv.Registration.State, sv.TotalTrees, sv.AreaHa, *sv.TreesPerHa)

	// The stored JPEG keeps the photo's EXIF (GPS) and XMP.
	resp, err := http.Get(base + "/v1/images/" + images[0].ItemID + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := photo.Read(raw); m.GPS == nil || m.RelAltM == nil || m.Model != "FC300S" {
		t.Errorf("the stored JPEG lost its EXIF or XMP: %+v", m)
	}

	// The GeoJSON: RFC 7946 through orb, a feature per merged tree.
	resp, err = http.Get(base + "/v1/scans/strip-1/trees.geojson")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil || len(fc.Features) != sv.PlacedTrees {
		t.Fatalf("GeoJSON: %v, %d features, want %d", err, len(fc.Features), sv.PlacedTrees)
	}

	// canopy-cloud export reads the same scan from the database.
	out, err := exec.Command(filepath.Join(bin, "canopy-cloud"), "export", "--scan", "strip-1", "--format", "csv", "--data", cloudData).Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if lines := strings.Count(string(out), "\n"); lines != sv.PlacedTrees+1 {
		t.Errorf("export csv: %d lines, want %d", lines, sv.PlacedTrees+1)
	}

	// How far the same crowns land apart in neighbouring photos, and across
	// strips flown in opposite directions (yaw +45° and -130°).
	var along []float64
	for i := 0; i+1 < len(images); i++ {
		along = append(along, nearest(images[i], images[i+1])...)
	}
	var crossImgs []db.Image
	for _, im := range scans["cross"].Images {
		var img db.Image
		getJSON(t, base+"/v1/images/"+im.ItemID, &img)
		crossImgs = append(crossImgs, img)
	}
	across := nearest(crossImgs[0], crossImgs[1])
	t.Logf("same crowns in neighbouring photos of a strip: %s", spread(along))
	t.Logf("same crowns in photos of neighbouring strips flown the other way: %s", spread(across))
	if len(along) > 0 && pct(along, 0.5) > 5 {
		t.Errorf("neighbouring photos place the same crowns a median %.1f m apart, want under 5 m", pct(along, 0.5))
	}
	cloud.cmd.Process.Signal(os.Interrupt)
	if err := wait(t, cloud, 20*time.Second); err != nil {
		t.Errorf("cloud stop: %v", err)
	}
}

// nearest matches each placed crown of a to the nearest placed crown of b
// inside both footprints, within 6 m, and returns the distances.
func nearest(a, b db.Image) []float64 {
	ring := func(img db.Image) []geo.LonLat {
		var r []geo.LonLat
		for _, p := range img.Count.Footprint {
			r = append(r, geo.LonLat{Lon: p[0], Lat: p[1]})
		}
		return r
	}
	ra, rb := ring(a), ring(b)
	var out []float64
	for _, x := range a.Count.Boxes {
		if x.Lon == nil {
			continue
		}
		px := geo.LonLat{Lon: *x.Lon, Lat: *x.Lat}
		if !geo.Contains(rb, px) {
			continue
		}
		best := math.Inf(1)
		for _, y := range b.Count.Boxes {
			if y.Lon == nil {
				continue
			}
			py := geo.LonLat{Lon: *y.Lon, Lat: *y.Lat}
			if geo.Contains(ra, py) {
				best = math.Min(best, geo.Distance(px, py))
			}
		}
		if best <= 6 {
			out = append(out, best)
		}
	}
	return out
}

func pct(v []float64, p float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(p*float64(len(s)-1))]
}

func spread(v []float64) string {
	if len(v) == 0 {
		return "no pairs"
	}
	return fmt.Sprintf("%d pairs, median %.2f m, 90th percentile %.2f m", len(v), pct(v, 0.5), pct(v, 0.9))
}
