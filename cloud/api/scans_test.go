package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/raster"
)

func f64(v float64) *float64 { return &v }

// countPlaced stores a counted image of scan at (x0, 0) metres east of the
// origin, its boxes at trees (metres), placed by the nadir model.
func countPlaced(t *testing.T, e *v1env, id, scan string, x0 float64, trees [][2]float64) {
	t.Helper()
	pl := geo.NewPlane(geo.LonLat{Lon: 5.2, Lat: 52.1})
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := pl.ToLonLat(x0+25, 25)
	if _, err := e.d.PutImage(t.Context(), db.Image{ItemID: id, Device: "drone-1", CapturedAt: at, RawKey: "k/" + id + "/image.jpg",
		ScanID: scan, Source: id + ".JPG", Lat: &c.Lat, Lon: &c.Lon, Ground: db.Ground{GPSAltM: f64(300)}}); err != nil {
		t.Fatal(err)
	}
	j, err := e.d.ClaimJob(t.Context(), "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var boxes []db.Box
	for _, tr := range trees {
		p := pl.ToLonLat(tr[0], tr[1])
		boxes = append(boxes, db.Box{XMax: 40, YMax: 40, Score: 0.8, Lon: &p.Lon, Lat: &p.Lat})
	}
	var fp [][2]float64
	for _, q := range [][2]float64{{x0, 0}, {x0 + 50, 0}, {x0 + 50, 50}, {x0, 50}} {
		p := pl.ToLonLat(q[0], q[1])
		fp = append(fp, [2]float64{p.Lon, p.Lat})
	}
	if err := e.d.CompleteJob(t.Context(), j.ID, db.CountRecord{Count: len(boxes), Boxes: boxes, Method: "learned", Model: "crown-detector",
		Placement: db.Placement{GSD: 0.1, GSDSource: "camera", Positions: db.PlacedNadir, Footprint: fp}}); err != nil {
		t.Fatal(err)
	}
}

// TestScanMap: two overlapping photos see two trees twice; the scan counts
// them once, per hectare over the union of the footprints, and exports
// them as GeoJSON (checked with orb), CSV and geo.txt.
func TestScanMap(t *testing.T) {
	e := newV1(t, 1<<20)
	countPlaced(t, e, "p1", "strip", 0, [][2]float64{{10, 10}, {30, 30}, {45, 20}})
	countPlaced(t, e, "p2", "strip", 25, [][2]float64{{30.5, 30}, {45, 20.5}, {60, 40}})
	w := e.do(t, "GET", "/v1/scans/strip", e.read, nil, "")
	var sv ScanView
	if err := json.Unmarshal(w.Body.Bytes(), &sv); err != nil || w.Code != 200 {
		t.Fatalf("%d %v %s", w.Code, err, w.Body)
	}
	if sv.TotalTrees != 4 || sv.SumOfCounts != 6 || sv.PlacedTrees != 4 || sv.UnplacedTrees != 0 || math.Abs(sv.AreaHa-0.375) > 0.005 ||
		sv.TreesPerHa == nil || math.Abs(*sv.TreesPerHa-4/0.375) > 0.2 {
		t.Errorf("scan: total %d, sum %d, placed %d, unplaced %d, %.4f ha, %v per ha; want 4, 6, 4, 0, 0.375, 10.7",
			sv.TotalTrees, sv.SumOfCounts, sv.PlacedTrees, sv.UnplacedTrees, sv.AreaHa, sv.TreesPerHa)
	}

	w = e.do(t, "GET", "/v1/scans/strip/trees.geojson", e.read, nil, "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/geo+json" {
		t.Fatalf("geojson: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	fc, err := geojson.UnmarshalFeatureCollection(w.Body.Bytes())
	if err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != 4 {
		t.Fatalf("orb: %v, %+v", err, fc)
	}
	for _, f := range fc.Features {
		p, ok := f.Geometry.(orb.Point)
		if !ok || math.Abs(p.Lon()-5.2) > 0.01 || math.Abs(p.Lat()-52.1) > 0.01 { // [lon, lat]
			t.Errorf("feature at %v, want [lon, lat] near [5.2, 52.1]", f.Geometry)
		}
		if f.Properties.MustString("method") != "learned" || f.Properties.MustString("model") != "crown-detector" ||
			!strings.HasPrefix(f.Properties.MustString("image_id"), "p") || f.Properties.MustFloat64("score") != 0.8 {
			t.Errorf("properties %v", f.Properties)
		}
	}

	w = e.do(t, "GET", "/v1/scans/strip/trees.csv", e.read, nil, "")
	rows, err := csv.NewReader(bytes.NewReader(w.Body.Bytes())).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][1] != "lon" {
		t.Errorf("csv: %v %v", rows, err)
	}
	w = e.do(t, "GET", "/v1/scans/strip/geo.txt", e.read, nil, "")
	if lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n"); len(lines) != 3 || lines[0] != "EPSG:4326" ||
		!strings.HasPrefix(lines[1], "p1.JPG 5.2") || !strings.HasSuffix(lines[1], " 300.000") {
		t.Errorf("geo.txt:\n%s", w.Body)
	}
	for _, p := range []string{"/v1/scans/nope/trees.geojson", "/v1/scans/nope/trees.csv", "/v1/scans/nope/geo.txt"} {
		if w := e.do(t, "GET", p, e.read, nil, ""); w.Code != 404 {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
	if w := e.do(t, "GET", "/v1/scans/strip/trees.geojson", "", nil, ""); w.Code != 401 {
		t.Errorf("no token: %d, want 401", w.Code)
	}
}

func geoData(t *testing.T) string {
	t.Helper()
	d := os.Getenv("CANOPY_SHARED_DATA")
	if d == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	return filepath.Join(d, "geo")
}

// TestUploadPhotoGround: an uploaded DJI photo keeps its bytes (EXIF and
// all), and its row gets the GSD, height, yaw, pitch and GPS position.
func TestUploadPhotoGround(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(geoData(t), "drone_photos", "images", "DJI_0020.JPG"))
	if err != nil {
		t.Fatal(err)
	}
	e := newV1(t, 32<<20)
	e.srv.v1.MaxPixels = 20_000_000
	body, ct := multipartBody(t, part{"image", "DJI_0020.JPG", b}, part{"metadata", "", []byte(`{"scan_id":"s"}`)})
	w := e.do(t, "POST", "/v1/images", e.write, body, ct)
	var acc UploadAccepted
	json.Unmarshal(w.Body.Bytes(), &acc)
	if w.Code != 202 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	img, err := e.d.GetImage(t.Context(), acc.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(img.GSD-0.01713) > 0.0001 || img.GSDSource != "camera" || img.HeightM == nil || *img.HeightM != 40.1 ||
		img.YawDeg == nil || *img.YawDeg != 44.2 || img.GimbalPitchDeg == nil || img.Lat == nil || math.Abs(*img.Lat-46.8427776) > 1e-6 ||
		img.GPSAltM == nil {
		t.Errorf("row: %+v", img)
	}
	raw, _, err := e.blobs.Get(t.Context(), blob.Raw, img.RawKey)
	if err != nil || !bytes.Equal(raw, b) {
		t.Errorf("the raw object is not the photo as sent (%v)", err)
	}
}

// TestUploadRaster: with rasters enabled, a tiled, compressed BigTIFF goes
// to disk, is checked by GDAL and stored whole, its georeferencing in the
// row; a TIFF GDAL cannot read, one too large, and other images too large
// for memory are refused and leave nothing behind.
func TestUploadRaster(t *testing.T) {
	if err := raster.Available(); err != nil {
		t.Skip(err)
	}
	g := geoData(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "ortho.tif")
	if out, err := exec.Command("gdal_translate", "-q", "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", "-co", "BIGTIFF=YES",
		filepath.Join(g, "neon_plots", "HARV_026.tif"), big).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	data, _ := os.ReadFile(big)
	spoolDir := t.TempDir()
	e := newV1(t, 64<<10)
	e.srv.v1.Rasters = RasterUploads{Enabled: true, MaxBytes: int64(len(data)) + 10, Dir: spoolDir}
	body, ct := multipartBody(t, part{"metadata", "", []byte(`{"scan_id":"ortho"}`)}, part{"image", "ortho.tif", data})
	w := e.do(t, "POST", "/v1/images", e.write, body, ct)
	if w.Code != 202 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var acc UploadAccepted
	json.Unmarshal(w.Body.Bytes(), &acc)
	img, _ := e.d.GetImage(t.Context(), acc.ItemID)
	if img.Width != 400 || img.GSD != 0.1 || img.GSDSource != "geotiff" || img.GeoRef == nil || img.GeoRef.CRS != "EPSG:32618" ||
		!strings.HasSuffix(img.RawKey, "/image.tif") {
		t.Errorf("row: %+v (georef %+v)", img, img.GeoRef)
	}
	if raw, _, err := e.blobs.Get(t.Context(), blob.Raw, img.RawKey); err != nil || !bytes.Equal(raw, data) {
		t.Errorf("raw object differs from the upload (%v)", err)
	}
	for _, tc := range []struct {
		name   string
		image  []byte
		status int
	}{
		{"not a raster", append([]byte("II*\x00"), bytes.Repeat([]byte{7}, 5000)...), http.StatusUnsupportedMediaType},
		{"too large", append(data, make([]byte, 100)...), http.StatusRequestEntityTooLarge},
		{"jpeg too large for memory", append(testJPEG(t), make([]byte, 70<<10)...), http.StatusRequestEntityTooLarge},
	} {
		body, ct := multipartBody(t, part{"image", "x.tif", tc.image}, part{"metadata", "", []byte(`{"scan_id":"ortho"}`)})
		if w := e.do(t, "POST", "/v1/images", e.write, body, ct); w.Code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.status)
		}
	}
	if left, _ := os.ReadDir(spoolDir); len(left) != 0 {
		t.Errorf("spool folder not emptied: %v", left)
	}
	if imgs, _, _ := e.d.ListImages(t.Context(), db.ImageQuery{}); len(imgs) != 1 {
		t.Errorf("%d images stored, want 1", len(imgs))
	}
}
