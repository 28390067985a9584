package scan

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
)

var pl = geo.NewPlane(geo.LonLat{Lon: -91.994, Lat: 46.8427})

// image is a counted image whose footprint is the square [x0, x0+50] x
// [0, 50] m, with a 4 m crown at each of trees (metres), shifted by dx.
func image(id string, x0 float64, trees [][2]float64, dx float64) db.Image {
	var boxes []db.Box
	for _, t := range trees {
		p := pl.ToLonLat(t[0]+dx, t[1])
		lon, lat := p.Lon, p.Lat
		boxes = append(boxes, db.Box{XMin: 0, YMin: 0, XMax: 40, YMax: 40, Score: 0.5 + t[0]/1000, Lon: &lon, Lat: &lat})
	}
	var fp [][2]float64
	for _, c := range [][2]float64{{x0, 0}, {x0 + 50, 0}, {x0 + 50, 50}, {x0, 50}} {
		p := pl.ToLonLat(c[0], c[1])
		fp = append(fp, [2]float64{p.Lon, p.Lat})
	}
	return db.Image{ItemID: id, Count: &db.CountRecord{Count: len(boxes), Boxes: boxes, Method: "learned", Model: "crown-detector",
		Placement: db.Placement{GSD: 0.1, Positions: db.PlacedNadir, Footprint: fp}}}
}

func TestMerge(t *testing.T) {
	// Image a sees trees at x 10, 30 and 45; image b (footprint from x 25)
	// sees 30 and 45 again, 0.8 m off (GPS), and 60.
	a := image("a", 0, [][2]float64{{10, 10}, {30, 20}, {45, 40}}, 0)
	b := image("b", 25, [][2]float64{{30, 20}, {45, 40}, {60, 25}}, 0.8)
	// Two crowns 3 m apart in one image stay two trees, and neighbours
	// 5 m apart (crowns touching) in different images stay apart.
	c := image("c", 100, [][2]float64{{110, 10}, {113, 10}}, 0)
	d := image("d", 100, [][2]float64{{118, 10}}, 0)
	unplaced := db.Image{ItemID: "u", Count: &db.CountRecord{Count: 7}}
	m := NewMerger(Options{})
	for _, img := range []db.Image{a, b, c, d, unplaced, {ItemID: "queued"}} {
		m.Add(img)
	}
	r := m.Result()
	if len(r.Trees) != 7 || r.Total() != 14 || r.Detections != 9 || r.SumOfCounts != 16 || r.Unplaced != 7 ||
		r.UnplacedImages != 1 || r.Images != 6 || r.Counted != 5 {
		t.Fatalf("got %d trees (total %d) from %d detections, sum %d, unplaced %d in %d images, %d of %d images counted",
			len(r.Trees), r.Total(), r.Detections, r.SumOfCounts, r.Unplaced, r.UnplacedImages, r.Counted, r.Images)
	}
	seen := 0
	for _, tr := range r.Trees {
		seen += tr.SeenIn
		if tr.CrownM != 4 {
			t.Errorf("crown %v m, want 4", tr.CrownM)
		}
	}
	if seen != 9 {
		t.Errorf("seen in %d images in all, want 9", seen)
	}
	// Footprints: [0,75] x [0,50] and [100,150] x [0,50] = 6250 m².
	if math.Abs(r.AreaM2-6250) > 60 {
		t.Errorf("area %.0f m², want 6250", r.AreaM2)
	}
	if v := r.PerHa(); v == nil || math.Abs(*v-7/0.625) > 0.2 {
		t.Errorf("per ha %v, want %.1f", v, 7/0.625)
	}
}

// TestGeoJSON checks the FeatureCollection with a maintained geometry
// library (orb): RFC 7946 members, Point geometries at [lon, lat], and the
// properties.
func TestGeoJSON(t *testing.T) {
	m := NewMerger(Options{})
	m.Add(image("a", 0, [][2]float64{{10, 10}, {30, 20}}, 0))
	r := m.Result()
	b, err := GeoJSON("s1", r)
	if err != nil {
		t.Fatal(err)
	}
	checkGeoJSON(t, b, 2)
	var raw map[string]any
	json.Unmarshal(b, &raw)
	if raw["scan_id"] != "s1" || raw["total_trees"] != 2.0 || raw["crs"] != nil {
		t.Errorf("members: %v", raw)
	}
	empty, _ := GeoJSON("s2", NewMerger(Options{}).Result())
	checkGeoJSON(t, empty, 0)
}

// checkGeoJSON parses b with orb and checks it as RFC 7946.
func checkGeoJSON(t *testing.T, b []byte, n int) {
	t.Helper()
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		t.Fatalf("orb: %v\n%s", err, b)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != n {
		t.Fatalf("type %q with %d features, want FeatureCollection with %d", fc.Type, len(fc.Features), n)
	}
	var raw struct {
		Features []struct {
			Type     string `json:"type"`
			Geometry struct {
				Type        string    `json:"type"`
				Coordinates []float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for i, f := range fc.Features {
		p, ok := f.Geometry.(orb.Point)
		if !ok || f.Type != "Feature" || raw.Features[i].Geometry.Type != "Point" || len(raw.Features[i].Geometry.Coordinates) != 2 {
			t.Fatalf("feature %d: %T %q", i, f.Geometry, f.Type)
		}
		// [lon, lat]: this scan lies at 91.99 W, 46.84 N.
		if math.Abs(p.Lon()+91.99) > 0.01 || math.Abs(p.Lat()-46.84) > 0.01 {
			t.Errorf("feature %d at %v, want [lon, lat] near [-91.99, 46.84]", i, p)
		}
		for _, k := range []string{"score", "image_id", "method", "model", "crown_m", "seen_in"} {
			if _, ok := f.Properties[k]; !ok {
				t.Errorf("feature %d has no %q", i, k)
			}
		}
	}
}

func TestCSVAndGeoTxt(t *testing.T) {
	m := NewMerger(Options{})
	m.Add(image("a", 0, [][2]float64{{10, 10}, {30, 20}}, 0))
	rows, err := csv.NewReader(bytes.NewReader(CSV(m.Result()))).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") || rows[1][6] != "a" {
		t.Fatalf("CSV %v, %v", rows, err)
	}
	lat, lon, alt := 46.8427776, -91.9942994, 198.6
	imgs := []db.Image{
		{ItemID: "i1", Source: "DJI_0020.JPG", RawKey: "d/2016/06/23/i1/image.jpg", Lat: &lat, Lon: &lon, Ground: db.Ground{GPSAltM: &alt}},
		{ItemID: "i2", Source: "frame.jpg", RawKey: "d/i2/image.jpg", Lat: &lat, Lon: &lon},
		{ItemID: "i3", Source: "frame.jpg", RawKey: "d/i3/image.png", Lat: &lat, Lon: &lon},
		{ItemID: "i4", Source: "x.jpg", RawKey: "d/i4/image.jpg"},
		{ItemID: "i5", Source: "../../etc/passwd.jpg", RawKey: "d/i5/image.jpg", Lat: &lat, Lon: &lon},
	}
	txt, names := GeoTxt(imgs)
	want := "EPSG:4326\nDJI_0020.JPG -91.99429940 46.84277760 198.600\ni2.jpg -91.99429940 46.84277760\ni3.png -91.99429940 46.84277760\ni5.jpg -91.99429940 46.84277760\n"
	if string(txt) != want || names["i4"] != "x.jpg" {
		t.Errorf("geo.txt:\n%s\nwant:\n%s(names %v)", txt, want, names)
	}
}

// TestMergeRegistered: the crowns of registered photos are placed through
// their registration and merged in their block's frame: on the Earth for
// a block placed by GPS (even where the photos' own positions disagree
// by metres), on a local map for one without GPS; an unregistered photo
// is merged by position with them.
func TestMergeRegistered(t *testing.T) {
	// Photos of 100 x 100 pixels at 0.1 m. Registration puts photo p1 at
	// x 0..10 m, p2 at x 5..15 m on the plane of pl's origin (y 0..10 m).
	toFrame := func(x0 float64) *[9]float64 { return &[9]float64{0.1, 0, x0, 0, -0.1, 10, 0, 0, 1} }
	photo := func(id string, boxes [][2]float64, withPos bool) db.Image {
		img := db.Image{ItemID: id, Width: 100, Height: 100, Count: &db.CountRecord{Count: len(boxes), Method: "learned",
			Placement: db.Placement{GSD: 0.1}}}
		for _, b := range boxes {
			box := db.Box{XMin: b[0] - 10, YMin: b[1] - 10, XMax: b[0] + 10, YMax: b[1] + 10, Score: 0.8}
			if withPos { // the photo's own (GPS) positions: 3 m off
				p := pl.ToLonLat(3+b[0]/10, 10-b[1]/10)
				box.Lon, box.Lat = &p.Lon, &p.Lat
			}
			img.Count.Boxes = append(img.Count.Boxes, box)
		}
		if withPos {
			img.Count.Positions = db.PlacedNadir
		}
		return img
	}
	// p1 sees crowns at x 2, 7 m; p2 (shifted 5 m) sees 7 again and 12.
	p1 := photo("p1", [][2]float64{{20, 50}, {70, 50}}, true)
	p2 := photo("p2", [][2]float64{{20, 50}, {70, 50}}, true)
	// p3 is not registered: its GPS puts a crown 1 m from p2's second.
	p3 := photo("p3", [][2]float64{{50, 50}}, false)
	q := pl.ToLonLat(13, 5)
	p3.Count.Boxes[0].Lon, p3.Count.Boxes[0].Lat = &q.Lon, &q.Lat
	p3.Count.Positions = db.PlacedNadir
	// l1, l2: a block without GPS (local map), the same crown in both.
	l1 := photo("l1", [][2]float64{{50, 50}}, false)
	l2 := photo("l2", [][2]float64{{50, 50}}, false)
	reg := db.ScanRegistration{Origin: &[2]float64{pl.Origin.Lon, pl.Origin.Lat}, Photos: []db.RegisteredPhoto{
		{ItemID: "p1", Block: 0, ToFrame: toFrame(0), Geo: true},
		{ItemID: "p2", Block: 0, ToFrame: toFrame(5), Geo: true},
		{ItemID: "p3", Block: -1},
		{ItemID: "l1", Block: 1, ToFrame: toFrame(100)},
		{ItemID: "l2", Block: 1, ToFrame: toFrame(100.4)},
	}}
	m := NewMerger(Options{})
	m.Register(reg)
	for _, img := range []db.Image{p1, p2, p3, l1, l2} {
		m.Add(img)
	}
	r := m.Result()
	if len(r.Trees) != 3 || len(r.Local) != 1 || r.Total() != 4 || r.RegisteredDetections != 6 || r.RepeatsMerged != 2 || r.MergedByPosition != 1 {
		t.Fatalf("%d trees, %d local, total %d; %d registered detections, %d repeats merged, %d by position",
			len(r.Trees), len(r.Local), r.Total(), r.RegisteredDetections, r.RepeatsMerged, r.MergedByPosition)
	}
	for _, tr := range r.Trees {
		x, y := pl.ToXY(geo.LonLat{Lon: tr.Lon, Lat: tr.Lat})
		if math.Abs(x-tr.X) > 1e-6 || math.Abs(y-tr.Y) > 1e-6 || math.Abs(y-5) > 1e-6 {
			t.Errorf("tree at %.2f, %.2f (lon, lat at %.2f, %.2f), want y 5", tr.X, tr.Y, x, y)
		}
	}
	// Area: 10 x 15 m on the Earth (p1, p2; p3 has no footprint) and
	// 10 x 10.4 m locally; 5 x 10 m and 9.6 x 10 m of them seen twice.
	if math.Abs(r.AreaM2-254) > 3 || math.Abs(r.SeenTwiceM2-146) > 3 {
		t.Errorf("area %.1f m², seen twice %.1f m²", r.AreaM2, r.SeenTwiceM2)
	}
	if found, merged := m.Repeats([][2]string{{"p1", "p2"}, {"l1", "l2"}}); found != 2 || merged != 2 {
		t.Errorf("repeats found %d, merged %d; want 2, 2", found, merged)
	}
}

// TestBestView: two registered photos overlap by half; a crown deep
// inside one and near the other's edge (its box cut there, its centre
// moved) is counted from the photo that sees it whole, not twice.
func TestBestView(t *testing.T) {
	toFrame := func(x0 float64) *[9]float64 { return &[9]float64{0.1, 0, x0, 0, -0.1, 10, 0, 0, 1} }
	box := func(x, y, r float64) db.Box {
		return db.Box{XMin: x - r, YMin: y - r, XMax: x + r, YMax: y + r, Score: 0.5}
	}
	img := func(id string, boxes ...db.Box) db.Image {
		return db.Image{ItemID: id, Width: 100, Height: 100, Count: &db.CountRecord{Count: len(boxes), Boxes: boxes, Placement: db.Placement{GSD: 0.1}}}
	}
	// The crown: centre at x 9.5 m, radius 1.5 m. a (x 0..10 m) sees it
	// cut by its edge: a box centred 0.75 m west of the crown's centre;
	// b (x 5..15 m) sees it whole.
	a := img("a", box(87.5, 50, 7.5))
	b := img("b", box(45, 50, 15))
	m := NewMerger(Options{MinMergeM: 0.5})
	m.Register(db.ScanRegistration{Photos: []db.RegisteredPhoto{{ItemID: "a", Block: 0, ToFrame: toFrame(0)}, {ItemID: "b", Block: 0, ToFrame: toFrame(5)}}})
	m.Add(a)
	m.Add(b)
	r := m.Result()
	if len(r.Local) != 1 || r.BetterViews != 1 || r.RepeatsMerged != 1 || r.Local[0].ImageID != "b" || math.Abs(r.Local[0].X-9.5) > 1e-9 {
		t.Errorf("trees %+v, %d better views, %d repeats merged; want one tree, from b, at x 9.5", r.Local, r.BetterViews, r.RepeatsMerged)
	}
}
