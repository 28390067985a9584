package api

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// TestScanRegistration: a registered scan merges its photos in their
// common frame (two photos whose GPS puts the same crown 3 m apart count
// it once), says how it was registered, and serves its mosaic as JPEG;
// a scan without one answers 404 with the reason.
func TestScanRegistration(t *testing.T) {
	e := newV1(t, 1<<20)
	// GPS puts p2's crown 3 m east of where p1 sees it: by position it
	// is two trees.
	countPlaced(t, e, "p1", "strip", 0, [][2]float64{{10, 10}})
	countPlaced(t, e, "p2", "strip", 25, [][2]float64{{13, 10}})
	var sv ScanView
	get := func(path string, v any) int {
		t.Helper()
		w := e.do(t, "GET", path, e.read, nil, "")
		if v != nil && w.Code == 200 {
			if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
				t.Fatal(err)
			}
		}
		return w.Code
	}
	get("/v1/scans/strip", &sv)
	if sv.TotalTrees != 2 || sv.Registration != nil {
		t.Fatalf("before registration: %d trees, registration %+v", sv.TotalTrees, sv.Registration)
	}
	if w := e.do(t, "GET", "/v1/scans/strip/mosaic.jpg", e.read, nil, ""); w.Code != 404 || !strings.Contains(w.Body.String(), "no photo of it is counted") {
		t.Errorf("mosaic before registration: %d %s", w.Code, w.Body)
	}
	// Registration: both photos map into one frame where p2's crown lands
	// on p1's.
	var mosaic bytes.Buffer
	if err := jpeg.Encode(&mosaic, image.NewRGBA(image.Rect(0, 0, 64, 48)), nil); err != nil {
		t.Fatal(err)
	}
	if err := e.blobs.Put(t.Context(), blob.Processed, "scans/abc/mosaic.jpg", mosaic.Bytes(), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	// The boxes' centres are at pixel (20, 20).
	toFrame := func(x, y float64) *[9]float64 { return &[9]float64{0.1, 0, x - 2, 0, -0.1, y + 2, 0, 0, 1} }
	for _, id := range []string{"p1", "p2"} {
		if err := e.d.SaveRegisteredPhoto(t.Context(), "strip", db.RegisteredPhoto{ItemID: id, FeaturesKey: "f", ViewKey: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.d.SaveRegistrationPair(t.Context(), "strip", db.RegistrationPair{ItemA: "p1", ItemB: "p2", OK: false, Reason: "too few inliers (3 of 9 matches, want 25)"}); err != nil {
		t.Fatal(err)
	}
	origin := [2]float64{5.2, 52.1}
	reg := db.ScanRegistration{ScanID: "strip", State: db.RegDone, Origin: &origin,
		Stats:  db.RegistrationStats{Photos: 2, Registered: 2, PairsMatched: 1},
		Mosaic: &db.MosaicInfo{Key: "scans/abc/mosaic.jpg", Width: 64, Height: 48, Geo: true},
		Photos: []db.RegisteredPhoto{{ItemID: "p1", Block: 0, Geo: true, ToFrame: toFrame(10, 10)}, {ItemID: "p2", Block: 0, Geo: true, ToFrame: toFrame(10, 10)}}}
	if err := e.d.FinishRegistration(t.Context(), db.RegistrationClaim{ScanID: "strip"}, reg); err != nil {
		t.Fatal(err)
	}
	sv = ScanView{}
	get("/v1/scans/strip", &sv)
	if sv.TotalTrees != 1 || sv.PlacedTrees != 1 || sv.Registration == nil || sv.Registration.State != db.RegDone ||
		sv.Registration.MosaicURL != "/v1/scans/strip/mosaic.jpg" || sv.Registration.Stats.Registered != 2 {
		t.Errorf("registered: %d trees (%d placed), registration %+v", sv.TotalTrees, sv.PlacedTrees, sv.Registration)
	}
	w := e.do(t, "GET", "/v1/scans/strip/mosaic.jpg", e.read, nil, "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/jpeg" {
		t.Fatalf("mosaic: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if img, err := jpeg.Decode(w.Body); err != nil || img.Bounds().Dx() != 64 {
		t.Errorf("mosaic: %v", err)
	}
	var rv RegistrationView
	if code := get("/v1/scans/strip/registration", &rv); code != 200 || len(rv.Photos) != 2 || len(rv.Pairs) != 1 ||
		!strings.Contains(rv.Pairs[0].Reason, "too few inliers") {
		t.Errorf("registration view: %d %+v", code, rv)
	}
	if code := get("/v1/scans/nope/registration", nil); code != 404 {
		t.Errorf("registration of an unknown scan: %d", code)
	}
	if w := e.do(t, "GET", "/v1/scans/strip/mosaic.jpg", "", nil, ""); w.Code != 401 {
		t.Errorf("mosaic without a token: %d", w.Code)
	}
}
