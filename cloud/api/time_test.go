package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/place"
)

// survey is one counted photo of a synthetic scan: 500 x 500 pixels at
// 0.1 m, straight down, north up, centred at (cx, cy) metres from the
// origin of the plane, with a crown of 40 pixels (4 m) at each tree
// (metres), and a mask that marks forest west of forestX (metres).
type survey struct {
	id, scan, address string
	at                time.Time
	cx, cy            float64
	trees             [][2]float64
	forestX           float64
	method, sha       string
}

// put stores the photo and counts it through the job queue, its boxes
// and footprint placed by package place, its mask in the blob store.
func (sv survey) put(t testing.TB, e *v1env) {
	t.Helper()
	c := origin.ToLonLat(sv.cx, sv.cy)
	img := db.Image{ItemID: sv.id, Device: "drone-1", CapturedAt: sv.at, RawKey: "drone-1/" + sv.id + "/image.jpg",
		ScanID: sv.scan, AddressID: sv.address, Lat: &c.Lat, Lon: &c.Lon, Width: 500, Height: 500,
		Ground: db.Ground{GSD: 0.1, GSDSource: "camera", YawDeg: f64(0), GimbalPitchDeg: f64(-90)}}
	if _, err := e.d.PutImage(t.Context(), img); err != nil {
		t.Fatal(err)
	}
	mask := image.NewGray(image.Rect(0, 0, 250, 250)) // half the photo's size, as an overview's mask
	for y := range 250 {
		for x := range 250 {
			if sv.cx+(float64(x)*2-250)/10 < sv.forestX {
				mask.SetGray(x, y, color.Gray{255})
			}
		}
	}
	var mb bytes.Buffer
	png.Encode(&mb, mask)
	maskKey := "drone-1/" + sv.id + "/mask.png"
	if err := e.blobs.Put(t.Context(), blob.Processed, maskKey, mb.Bytes(), "image/png"); err != nil {
		t.Fatal(err)
	}
	j, _, err := e.d.ClaimItemJob(t.Context(), sv.id, "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sv.complete(t, e, j, maskKey)
}

// recount completes the queued recount of the photo with its trees.
func (sv survey) recount(t *testing.T, e *v1env) {
	t.Helper()
	j, err := e.d.ClaimJob(t.Context(), "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sv.complete(t, e, j, "")
}

// complete records the job's count: a 4 m crown at each tree.
func (sv survey) complete(t testing.TB, e *v1env, j db.Job, maskKey string) {
	t.Helper()
	img, err := e.d.GetImage(t.Context(), sv.id)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := place.New(place.FromDB(img))
	if err != nil {
		t.Fatal(err)
	}
	var boxes []count.Box
	for _, tr := range sv.trees {
		col, row := 250+(tr[0]-sv.cx)*10, 250-(tr[1]-sv.cy)*10
		boxes = append(boxes, count.Box{XMin: col - 20, YMin: row - 20, XMax: col + 20, YMax: row + 20, Score: 0.8})
	}
	method := sv.method
	if method == "" {
		method = "learned"
	}
	if err := e.d.CompleteJob(t.Context(), j.ID, db.CountRecord{Count: len(boxes), Boxes: place.Boxes(pl, boxes), Method: method,
		ModelSHA256: sv.sha, MaskKey: maskKey, Placement: place.Placement(pl, nil, 0.1, "camera")}); err != nil {
		t.Fatal(err)
	}
}

var origin = geo.NewPlane(geo.LonLat{Lon: 5.2, Lat: 52.1})

func getJSON[T any](t *testing.T, e *v1env, path string) T {
	t.Helper()
	w := e.do(t, "GET", path, e.read, nil, "")
	var v T
	if w.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}

// grid is trees every 8 m on [4, 44] x [4, 44] metres, less those in skip.
func grid(skip ...[2]float64) [][2]float64 {
	var out [][2]float64
	for x := 4.0; x <= 44; x += 8 {
	next:
		for y := 4.0; y <= 44; y += 8 {
			for _, s := range skip {
				if s == [2]float64{x, y} {
					continue next
				}
			}
			out = append(out, [2]float64{x, y})
		}
	}
	return out
}

func TestScansByPlace(t *testing.T) {
	e := newV1(t, 1<<20)
	day := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, sv := range []survey{
		{id: "s1", scan: "spring", address: "farm", at: day, cx: 25, cy: 25, trees: grid()},
		{id: "s2", scan: "autumn", address: "farm", at: day.AddDate(0, 5, 0), cx: 25, cy: 25, trees: grid([2]float64{20, 20})},
		{id: "s3", scan: "park", address: "park", at: day.AddDate(0, 2, 0), cx: 5000, cy: 0, trees: grid()},
	} {
		sv.put(t, e)
	}
	list := getJSON[ScanList](t, e, "/v1/scans")
	if len(list.Scans) != 3 || list.Scans[0].ScanID != "autumn" || list.Scans[2].ScanID != "spring" {
		t.Fatalf("scans %+v, want newest first", list.Scans)
	}
	a := list.Scans[0]
	if a.TotalTrees != 35 || a.PlacedTrees != 35 || a.ImageCount != 1 || a.Counted != 1 || math.Abs(a.AreaHa-0.25) > 0.003 ||
		len(a.Footprint) != 5 || a.BBox == nil || a.TreesPerHa == nil || !a.StartedAt.Equal(day.AddDate(0, 5, 0)) {
		t.Errorf("autumn: %+v", a)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?address_id=farm", []string{"autumn", "spring"}},
		{"?address_id=farm&order=oldest", []string{"spring", "autumn"}},
		{"?since=2026-06-01", []string{"autumn", "park"}},
		{"?until=2026-06-01T00:00:00Z", []string{"spring"}},
		{fmt.Sprintf("?bbox=%f,%f,%f,%f", a.BBox[0], a.BBox[1], a.BBox[2], a.BBox[3]), []string{"autumn", "spring"}},
		{"?limit=1&order=oldest", []string{"spring"}},
	} {
		got := getJSON[ScanList](t, e, "/v1/scans"+tc.query)
		var ids []string
		for _, s := range got.Scans {
			ids = append(ids, s.ScanID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, ids, tc.want)
		}
		if tc.query == "?limit=1&order=oldest" {
			next := getJSON[ScanList](t, e, "/v1/scans?limit=1&order=oldest&cursor="+got.NextCursor)
			if len(next.Scans) != 1 || next.Scans[0].ScanID != "park" {
				t.Errorf("second page: %+v", next.Scans)
			}
		}
	}
	for _, q := range []string{"?bbox=1,2,3", "?bbox=5,0,1,1", "?since=yesterday", "?limit=0", "?limit=101", "?order=up", "?cursor=x"} {
		if w := e.do(t, "GET", "/v1/scans"+q, e.read, nil, ""); w.Code != 400 {
			t.Errorf("%s: %d, want 400", q, w.Code)
		}
	}
	places := getJSON[PlaceList](t, e, "/v1/places")
	if len(places.Places) != 2 || places.Places[0].AddressID != "farm" || places.Places[0].Scans != 2 {
		t.Errorf("places %+v", places.Places)
	}
	farm := getJSON[PlaceView](t, e, "/v1/places/farm")
	if farm.AddressID != "farm" || len(farm.Scans) != 2 || farm.Scans[0].ScanID != "spring" || farm.Scans[1].TotalTrees != 35 {
		t.Errorf("place farm: %+v", farm)
	}
	if w := e.do(t, "GET", "/v1/places/nowhere", e.read, nil, ""); w.Code != 404 {
		t.Errorf("unknown place: %d", w.Code)
	}
	if w := e.do(t, "GET", "/v1/scans", "", nil, ""); w.Code != 401 {
		t.Errorf("no token: %d", w.Code)
	}
}

func TestScanChange(t *testing.T) {
	e := newV1(t, 1<<20)
	day := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	felled := [][2]float64{{20, 20}, {28, 36}}
	for _, sv := range []survey{
		{id: "a", scan: "before", address: "farm", at: day, cx: 25, cy: 25, trees: grid(), forestX: 50},
		// The same place after a storm: two trees fell, one was planted
		// at (24, 24), the forest west of x = 30 only; the photo's GPS
		// position is 3 m east of where it was taken.
		{id: "b", scan: "after", address: "farm", at: day.AddDate(1, 0, 0), cx: 25 + 3, cy: 25,
			trees: shift(append(grid(felled...), [2]float64{24, 24}), 3, 0), forestX: 30 + 3},
	} {
		sv.put(t, e)
	}
	cv := getJSON[ChangeView](t, e, "/v1/scans/after/change?base=before")
	if cv.Kept != 34 || len(cv.Lost) != 2 || len(cv.New) != 1 || math.Abs(cv.Offset.EastM-3) > 0.01 || cv.Offset.NorthM != 0 {
		t.Fatalf("change: kept %d, lost %+v, new %+v, offset %+v; want 34, 2, 1, 3 m east", cv.Kept, cv.Lost, cv.New, cv.Offset)
	}
	for i, l := range cv.Lost {
		p := origin.ToLonLat(felled[i][0], felled[i][1])
		if math.Abs(l.Lon-p.Lon) > 1e-6 && math.Abs(l.Lat-p.Lat) > 1e-6 {
			continue // in either order
		}
		if l.CrownM != 4 || l.ImageID != "a" {
			t.Errorf("lost %+v", l)
		}
	}
	if n := cv.New[0]; n.ImageID != "b" || math.Abs(n.CrownM-4) > 1e-9 {
		t.Errorf("new %+v", n)
	}
	// Common area, the offset taken out: 50 x 50 m; forest cover from all
	// of it to the 30 m west.
	if math.Abs(cv.CommonAreaHa-0.25) > 0.003 || cv.TreesPerHa == nil || cv.TreesPerHa.Change != -4 || cv.ForestCover == nil ||
		math.Abs(cv.ForestCover.Base-1) > 0.02 || math.Abs(cv.ForestCover.Scan-0.6) > 0.02 {
		t.Errorf("common %.4f ha, per ha %+v, cover %+v", cv.CommonAreaHa, cv.TreesPerHa, cv.ForestCover)
	}
	// Without the offset search the 3 m GPS error looks like a new forest.
	raw := getJSON[ChangeView](t, e, "/v1/scans/after/change?base=before&max_shift_m=0")
	if raw.Offset.Pairs != 0 || len(raw.Lost)+len(raw.New) < 30 {
		t.Errorf("no search: offset %+v, %d lost, %d new", raw.Offset, len(raw.Lost), len(raw.New))
	}
	// A scan against itself: nothing changed.
	same := getJSON[ChangeView](t, e, "/v1/scans/before/change?base=before")
	if same.Kept != 36 || len(same.Lost) != 0 || len(same.New) != 0 || same.TreesPerHa.Change != 0 || same.ForestCover.Change != 0 {
		t.Errorf("before vs before: %+v", same)
	}

	w := e.do(t, "GET", "/v1/scans/after/change.geojson?base=before", e.read, nil, "")
	fc, err := geojson.UnmarshalFeatureCollection(w.Body.Bytes())
	if err != nil || w.Header().Get("Content-Type") != "application/geo+json" || len(fc.Features) != 3 || fc.ExtraMembers["kept"] != 34.0 {
		t.Fatalf("geojson: %v %s %+v", err, w.Body, fc)
	}
	lost := 0
	for _, f := range fc.Features {
		if f.Properties.MustString("change") == "lost" {
			lost++
		}
	}
	if lost != 2 {
		t.Errorf("geojson: %d lost features, want 2", lost)
	}
	for path, status := range map[string]int{
		"/v1/scans/after/change":                            400,
		"/v1/scans/after/change?base=nope":                  404,
		"/v1/scans/nope/change?base=before":                 404,
		"/v1/scans/after/change?base=before&max_shift_m=-1": 400,
		"/v1/scans/after/change?base=before&model=%01":      400,
	} {
		if w := e.do(t, "GET", path, e.read, nil, ""); w.Code != status {
			t.Errorf("%s: %d, want %d (%s)", path, w.Code, status, w.Body)
		}
	}
}

func shift(trees [][2]float64, dx, dy float64) [][2]float64 {
	out := make([][2]float64, len(trees))
	for i, t := range trees {
		out[i] = [2]float64{t[0] + dx, t[1] + dy}
	}
	return out
}

func TestCountsByModel(t *testing.T) {
	e := newV1(t, 1<<20)
	day := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	old := "1111111111111111111111111111111111111111111111111111111111111111"
	(survey{id: "m1", scan: "s", at: day, cx: 25, cy: 25, trees: grid(), method: "learned", sha: old}).put(t, e)
	if r, err := e.d.QueueRecount(t.Context(), db.RecountQuery{ScanID: "s", Method: "classical"}); err != nil || r.Queued != 1 {
		t.Fatal(r, err)
	}
	(survey{id: "m1", scan: "s", at: day, cx: 25, cy: 25, trees: grid([2]float64{4, 4}), method: "classical"}).recount(t, e)

	if img := getJSON[ImageView](t, e, "/v1/images/m1"); img.Count.Method != "classical" || img.Count.Count != 35 {
		t.Errorf("newest count: %+v", img.Count)
	}
	if img := getJSON[ImageView](t, e, "/v1/images/m1?model="+old[:8]); img.Count.ModelSHA256 != old || img.Count.Count != 36 {
		t.Errorf("?model=%s: %+v", old[:8], img.Count)
	}
	cs := getJSON[CountList](t, e, "/v1/images/m1/counts")
	if len(cs.Counts) != 2 || cs.Counts[0].Method != "classical" || cs.Counts[1].ModelSHA256 != old {
		t.Errorf("counts %+v", cs.Counts)
	}
	if sv := getJSON[ScanView](t, e, "/v1/scans/s?model=learned"); sv.TotalTrees != 36 || sv.Images[0].Count.Count != 36 {
		t.Errorf("scan by the old model: %d trees", sv.TotalTrees)
	}
	if sv := getJSON[ScanView](t, e, "/v1/scans/s"); sv.TotalTrees != 35 {
		t.Errorf("scan: %d trees, want the newest counts' 35", sv.TotalTrees)
	}
	if l := getJSON[ScanList](t, e, "/v1/scans?model=learned"); l.Scans[0].TotalTrees != 36 {
		t.Errorf("scan list by the old model: %+v", l.Scans)
	}
	// The recount against the first count, on one scan: one tree fewer.
	if cv := getJSON[ChangeView](t, e, "/v1/scans/s/change?base=s&base_model="+old[:6]); len(cv.Lost) != 1 || len(cv.New) != 0 || cv.Kept != 35 {
		t.Errorf("recount vs first count: kept %d, lost %d, new %d", cv.Kept, len(cv.Lost), len(cv.New))
	}
	for path, status := range map[string]int{"/v1/images/m1?model=abcdef": 404, "/v1/images/nope/counts": 404, "/v1/images/nope?model=x": 404} {
		if w := e.do(t, "GET", path, e.read, nil, ""); w.Code != status {
			t.Errorf("%s: %d, want %d", path, w.Code, status)
		}
	}
}

func TestRawDeleted(t *testing.T) {
	e := newV1(t, 1<<20)
	(survey{id: "r1", scan: "s", at: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), cx: 25, cy: 25, trees: grid()}).put(t, e)
	if err := e.d.MarkRawDeleted(t.Context(), "r1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if w := e.do(t, "GET", "/v1/images/r1/raw", e.read, nil, ""); w.Code != 410 {
		t.Errorf("raw after retention: %d %s, want 410", w.Code, w.Body)
	}
	img := getJSON[ImageView](t, e, "/v1/images/r1")
	if img.Links.Raw != "" || img.Links.Mask == "" || img.RawDeletedAt.IsZero() {
		t.Errorf("links %+v, raw deleted at %v", img.Links, img.RawDeletedAt)
	}
}
