package countcmd

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/geo/geotest"
	"github.com/canopy-forest/canopy/internal/photo"
)

// geoData is ../shared/data/geo, or the test is skipped.
func geoData(t *testing.T) string {
	t.Helper()
	d := os.Getenv("CANOPY_SHARED_DATA")
	if d == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	p := filepath.Join(d, "geo")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no %s", p)
	}
	return p
}

func countJSON(t *testing.T, args ...string) []countOut {
	t.Helper()
	out, errOut, code := run(t, append([]string{"count", "--json"}, args...)...)
	var outs []countOut
	if err := json.Unmarshal([]byte(out), &outs); err != nil {
		t.Fatalf("exit %d, JSON: %v\n%s\n%s", code, err, out, errOut)
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	return outs
}

// vocBoxes reads the crown boxes of a Pascal VOC file.
func vocBoxes(t *testing.T, path string) []count.Box {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Objects []struct {
			Box struct {
				XMin float64 `xml:"xmin"`
				YMin float64 `xml:"ymin"`
				XMax float64 `xml:"xmax"`
				YMax float64 `xml:"ymax"`
			} `xml:"bndbox"`
		} `xml:"object"`
	}
	if err := xml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var out []count.Box
	for _, o := range v.Objects {
		out = append(out, count.Box{XMin: o.Box.XMin, YMin: o.Box.YMin, XMax: o.Box.XMax, YMax: o.Box.YMax})
	}
	return out
}

// TestCountNEONPositions counts the five NEON GeoTIFFs and checks every
// crown's lon, lat against the position of its box computed independently:
// the transform read from the GeoTIFF tags by internal/photo (not GDAL) and
// UTM to WGS 84 by Krüger's series (not PROJ). It also logs how far the
// crowns found lie from the hand-drawn crowns they match.
func TestCountNEONPositions(t *testing.T) {
	dir := filepath.Join(geoData(t), "neon_plots")
	plots := []string{"OSBS_029", "SJER_045", "SJER_055", "TEAK_052", "HARV_026"}
	var paths []string
	for _, p := range plots {
		paths = append(paths, filepath.Join(dir, p+".tif"))
	}
	outs := countJSON(t, paths...)
	var matched []float64
	for i, out := range outs {
		plot := plots[i]
		b, _ := os.ReadFile(paths[i])
		m := photo.Read(b)
		var zone int
		if m.GeoTIFF == nil || !strings.HasPrefix(m.GeoTIFF.CRS, "EPSG:326") {
			t.Fatalf("%s: tags give %+v", plot, m.GeoTIFF)
		}
		zone = int(m.GeoTIFF.CRS[len("EPSG:326")]-'0')*10 + int(m.GeoTIFF.CRS[len("EPSG:326")+1]-'0')
		if out.GSD != 0.1 || out.GSDSource != "geotiff" || out.Positions != "geotiff" || out.Count == 0 || len(out.Footprint) != 4 {
			t.Errorf("%s: gsd %v (%s), positions %q (%s), %d crowns; want 0.1 from the GeoTIFF, placed", plot, out.GSD, out.GSDSource,
				out.Positions, out.PositionNote, out.Count)
			continue
		}
		tr := m.GeoTIFF.Transform
		worst := 0.0
		for _, bx := range out.Boxes {
			cx, cy := (bx.XMin+bx.XMax)/2, (bx.YMin+bx.YMax)/2
			lon, lat := geotest.UTMToLonLat(zone, true, tr[0]+cx*tr[1]+cy*tr[2], tr[3]+cx*tr[4]+cy*tr[5])
			if bx.Lon == nil {
				t.Fatalf("%s: box %+v has no position", plot, bx)
			}
			worst = math.Max(worst, geotest.MetresBetween(*bx.Lon, *bx.Lat, lon, lat))
		}
		if worst > 0.2 {
			t.Errorf("%s: a crown lies %.3f m from its box's independent position, want within 0.2 m", plot, worst)
		}
		// Crowns found vs crowns drawn: the distance between matched centres.
		truth := vocBoxes(t, filepath.Join(dir, plot+".xml"))
		var found []count.Box
		for _, bx := range out.Boxes {
			found = append(found, count.Box{XMin: bx.XMin, YMin: bx.YMin, XMax: bx.XMax, YMax: bx.YMax, Score: bx.Score})
		}
		var d []float64
		for _, p := range matchPairs(found, truth, 0.4) {
			fx, fy := p[0].Centre()
			gx, gy := p[1].Centre()
			d = append(d, math.Hypot(fx-gx, fy-gy)*0.1)
		}
		matched = append(matched, d...)
		t.Logf("%s: %d crowns found, %d drawn, %d matched (IoU 0.4), median centre distance %.2f m; positions within %.4f m of the independent ones",
			plot, out.Count, len(truth), len(d), median(d), worst)
	}
	t.Logf("all plots: %d matched crowns, median centre distance %.2f m", len(matched), median(matched))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// TestCountDronePhotos counts one photo of each strip: gsd_m within 5% of
// 1.78 cm, and every crown inside the photo's footprint, which is centred
// on the GPS position and has the size the GSD gives.
func TestCountDronePhotos(t *testing.T) {
	dir := filepath.Join(geoData(t), "drone_photos", "images")
	names := []string{"DJI_0020.JPG", "DJI_0026.JPG", "DJI_0033.JPG"}
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(dir, n))
	}
	for i, out := range countJSON(t, paths...) {
		if math.Abs(out.GSD/0.0178-1) > 0.05 || out.GSDSource != "camera" {
			t.Errorf("%s: gsd %v (%s), want within 5%% of 0.0178 from the camera", names[i], out.GSD, out.GSDSource)
		}
		if out.Positions != "nadir" || len(out.Footprint) != 4 {
			t.Errorf("%s: positions %q (%s), footprint %v", names[i], out.Positions, out.PositionNote, out.Footprint)
			continue
		}
		ring := make([]geo.LonLat, 4)
		var c geo.LonLat
		for j, p := range out.Footprint {
			ring[j] = geo.LonLat{Lon: p[0], Lat: p[1]}
			c.Lon += p[0] / 4
			c.Lat += p[1] / 4
		}
		b, _ := os.ReadFile(paths[i])
		m := photo.Read(b)
		if d := geotest.MetresBetween(c.Lon, c.Lat, m.GPS.Lon, m.GPS.Lat); d > 0.01 {
			t.Errorf("%s: footprint centred %.3f m from the GPS position", names[i], d)
		}
		if a, want := geo.PolygonArea(ring), 4000*2250*out.GSD*out.GSD; math.Abs(a/want-1) > 0.001 {
			t.Errorf("%s: footprint %.1f m², want %.1f", names[i], a, want)
		}
		for _, bx := range out.Boxes {
			if bx.Lon == nil || !geo.Contains(ring, geo.LonLat{Lon: *bx.Lon, Lat: *bx.Lat}) {
				t.Errorf("%s: crown %+v outside the footprint", names[i], bx)
			}
		}
		t.Logf("%s: gsd %.5f m, %d crowns, footprint %.0f m²", names[i], out.GSD, out.Count, geo.PolygonArea(ring))
	}
}

// TestCountBadGround: a GeoTIFF in an unknown CRS, a photo with GPS but no
// height and a photo whose XMP block is corrupt are counted, without
// positions, each with its reason.
func TestCountBadGround(t *testing.T) {
	g := geoData(t)
	dir := t.TempDir()
	photoBytes, err := os.ReadFile(filepath.Join(g, "drone_photos", "images", "DJI_0020.JPG"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(photoBytes, []byte("drone-dji:RelativeAltitude"))
	if i < 0 {
		t.Fatal("no RelativeAltitude in DJI_0020")
	}
	noHeight := bytes.Clone(photoBytes)
	copy(noHeight[i:], "drone-dji:RelativeAltitudX") // the same length: the XMP stays well-formed
	corrupt := bytes.Clone(photoBytes)
	j := bytes.Index(corrupt, []byte("<rdf:Description"))
	copy(corrupt[j:], "<rdf:Descr<<<<<<")
	unknownCRS := filepath.Join(dir, "local.tif")
	gdalTranslate(t, "-a_srs", `LOCAL_CS["site grid",UNIT["metre",1]]`, filepath.Join(g, "neon_plots", "SJER_045.tif"), unknownCRS)
	for name, b := range map[string][]byte{"noheight.jpg": noHeight, "corrupt.jpg": corrupt} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outs := countJSON(t, unknownCRS, filepath.Join(dir, "noheight.jpg"), filepath.Join(dir, "corrupt.jpg"))
	for i, want := range []string{"not placed", "no ground sample distance (GSD unknown: no height above ground", "corrupt XMP block"} {
		out := outs[i]
		if out.Error != "" || out.Positions != "" || !strings.Contains(out.PositionNote, want) {
			t.Errorf("%s: error %q, positions %q, note %q; want counted, not placed, note with %q", out.Image, out.Error, out.Positions, out.PositionNote, want)
		}
		for _, bx := range out.Boxes {
			if bx.Lon != nil {
				t.Errorf("%s: box placed: %+v", out.Image, bx)
			}
		}
		if i > 0 && (out.GSDSource != "default" || out.GSD != 0.1) {
			t.Errorf("%s: gsd %v (%s), want the default 0.1", out.Image, out.GSD, out.GSDSource)
		}
	}
}

// TestCountAnnotateMakesDir: --annotate DIR creates DIR (it failed for every
// image when DIR did not exist).
func TestCountAnnotateMakesDir(t *testing.T) {
	src := filepath.Join(t.TempDir(), "crowns.png")
	if err := os.WriteFile(src, crownsPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "not", "yet")
	if _, errOut, code := run(t, "count", "--annotate", dir, src); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "crowns.annotated.png")); err != nil {
		t.Fatal(err)
	}
}

// matchPairs matches found boxes to true ones greedily by score, each true
// box at most once, at an IoU of at least iou.
func matchPairs(found, truth []count.Box, iou float64) [][2]count.Box {
	f := append([]count.Box(nil), found...)
	count.SortByScore(f)
	used := make([]bool, len(truth))
	var out [][2]count.Box
	for _, b := range f {
		best, bi := iou, -1
		for i, g := range truth {
			if v := count.IoU(b, g); !used[i] && v >= best {
				best, bi = v, i
			}
		}
		if bi >= 0 {
			used[bi] = true
			out = append(out, [2]count.Box{b, truth[bi]})
		}
	}
	return out
}

// crownsPNG is a synthetic aerial image: green discs on brown ground.
func crownsPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	for y := range 200 {
		for x := range 200 {
			c := color.RGBA{120, 95, 60, 255}
			if dx, dy := x%100-50, y%100-50; dx*dx+dy*dy < 900 {
				c = color.RGBA{30, 150, 40, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gdalTranslate(t *testing.T, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("gdal_translate"); err != nil {
		t.Skip("gdal_translate not installed")
	}
	if out, err := exec.Command("gdal_translate", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("gdal_translate: %v: %s", err, out)
	}
}
