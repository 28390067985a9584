package geo

import (
	"errors"
	"math"
	"testing"

	"github.com/canopy-forest/canopy/cloud/geo/geotest"
	"github.com/canopy-forest/canopy/sync/wire"
)

func ptr(v float64) *float64 { return &v }

func TestPlaneRoundTrip(t *testing.T) {
	for _, o := range []LonLat{{-91.994, 46.8427}, {132.96, -12.68}, {179.9999, 0}, {0, 80}} {
		pl := NewPlane(o)
		for _, d := range [][2]float64{{0, 0}, {100, -50}, {-2500, 3000}} {
			p := pl.ToLonLat(d[0], d[1])
			x, y := pl.ToXY(p)
			if math.Abs(x-d[0]) > 1e-6 || math.Abs(y-d[1]) > 1e-6 {
				t.Errorf("origin %v: %v -> %v -> %v, %v", o, d, p, x, y)
			}
			if got, want := geotest.MetresBetween(o.Lon, o.Lat, p.Lon, p.Lat), math.Hypot(d[0], d[1]); math.Abs(got-want) > 0.005*want+1e-6 {
				t.Errorf("origin %v, offset %v: %.3f m on the sphere, want %.3f", o, d, got, want)
			}
		}
	}
}

func TestNadir(t *testing.T) {
	pos := LonLat{Lon: 10, Lat: 50}
	for _, tc := range []struct {
		yaw          float64
		col, row     float64
		wantX, wantY float64
	}{
		{0, 50, 0, 0, 40},     // top centre, heading north: 40 m north
		{0, 100, 50, 40, 0},   // right centre: east
		{90, 50, 0, 40, 0},    // heading east: the top edge is east
		{90, 100, 50, 0, -40}, // ... and the right edge south
		{180, 50, 0, 0, -40},
		{-90, 50, 0, -40, 0},
		{45, 50, 0, 40 / math.Sqrt2, 40 / math.Sqrt2},
	} {
		c, err := NewNadir(pos, 0.8, ptr(tc.yaw), ptr(-90), 100, 100)
		if err != nil {
			t.Fatal(err)
		}
		x, y := c.XY(tc.col, tc.row)
		if math.Abs(x-tc.wantX) > 1e-9 || math.Abs(y-tc.wantY) > 1e-9 {
			t.Errorf("yaw %v, pixel %v,%v: got %.3f, %.3f; want %v, %v", tc.yaw, tc.col, tc.row, x, y, tc.wantX, tc.wantY)
		}
	}
	c, _ := NewNadir(pos, 0.02, ptr(30), nil, 4000, 2250)
	if a := PolygonArea(c.Footprint()); math.Abs(a-80*45) > 0.1 {
		t.Errorf("footprint area %.2f m², want 3600", a)
	}
	if !Contains(c.Footprint(), c.LonLat(3999, 2249)) || Contains(c.Footprint(), c.LonLat(4100, 10)) {
		t.Error("Contains: a corner pixel should be inside, a pixel beyond the edge outside")
	}
	for _, tc := range []struct {
		gsd        float64
		yaw, pitch *float64
		want       error
	}{
		{0, ptr(0), nil, ErrNoGSD},
		{0.1, nil, nil, ErrNoYaw},
		{0.1, ptr(0), ptr(-45), ErrOblique},
	} {
		if _, err := NewNadir(pos, tc.gsd, tc.yaw, tc.pitch, 10, 10); !errors.Is(err, tc.want) {
			t.Errorf("NewNadir(gsd %v): got %v, want %v", tc.gsd, err, tc.want)
		}
	}
}

func TestUnionArea(t *testing.T) {
	pl := NewPlane(LonLat{Lon: 5, Lat: 45})
	square := func(x, y, s float64) []LonLat {
		return []LonLat{pl.ToLonLat(x, y), pl.ToLonLat(x+s, y), pl.ToLonLat(x+s, y+s), pl.ToLonLat(x, y+s)}
	}
	for _, tc := range []struct {
		polys [][]LonLat
		want  float64
	}{
		{[][]LonLat{square(0, 0, 100)}, 10000},
		{[][]LonLat{square(0, 0, 100), square(50, 0, 100)}, 15000},
		{[][]LonLat{square(0, 0, 100), square(0, 0, 100)}, 10000},
		{[][]LonLat{square(0, 0, 50), square(500, 500, 50)}, 5000},
		{nil, 0},
	} {
		if got := UnionArea(tc.polys); math.Abs(got-tc.want) > 0.01*tc.want+1e-9 {
			t.Errorf("got %.1f m², want %.1f", got, tc.want)
		}
	}
}

func TestRasterWGS84(t *testing.T) {
	r, err := NewRaster(wire.GeoRef{CRS: "EPSG:4326", Transform: [6]float64{10, 0.001, 0, 50, 0, -0.001}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.LonLat(100, 200)
	if err != nil || math.Abs(p.Lon-10.1) > 1e-12 || math.Abs(p.Lat-49.8) > 1e-12 {
		t.Fatalf("got %v, %v; want 10.1, 49.8", p, err)
	}
	for _, g := range []wire.GeoRef{
		{CRS: "", Transform: [6]float64{0, 1, 0, 0, 0, -1}},
		{CRS: "EPSG:4326", Transform: [6]float64{0, 0, 0, 0, 0, 0}},
		{CRS: "EPSG:4326", Transform: [6]float64{math.NaN(), 1, 0, 0, 0, -1}},
	} {
		if _, err := NewRaster(g); err == nil {
			t.Errorf("NewRaster(%+v): want an error", g)
		}
	}
}

func TestRasterUTM(t *testing.T) {
	g := wire.GeoRef{CRS: "EPSG:32617", Transform: [6]float64{404211.9, 0.1, 0, 3285142.9, 0, -0.1}}
	r, err := NewRaster(g)
	if !PROJAvailable {
		if !errors.Is(err, ErrNoPROJ) {
			t.Fatalf("without PROJ: got %v, want ErrNoPROJ", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, px := range [][2]float64{{0, 0}, {200, 200}, {400, 400}, {37.5, 311.25}} {
		p, err := r.LonLat(px[0], px[1])
		if err != nil {
			t.Fatal(err)
		}
		x, y := r.XY(px[0], px[1])
		lon, lat := geotest.UTMToLonLat(17, true, x, y)
		if d := geotest.MetresBetween(p.Lon, p.Lat, lon, lat); d > 0.001 {
			t.Errorf("pixel %v: PROJ %v, Krüger %v, %v: %.4f m apart", px, p, lon, lat, d)
		}
	}
	for _, crs := range []string{"EPSG:99999", `LOCAL_CS["arbitrary",UNIT["metre",1]]`, "not a CRS"} {
		if _, err := NewRaster(wire.GeoRef{CRS: crs, Transform: g.Transform}); !errors.Is(err, ErrUnknownCRS) {
			t.Errorf("CRS %q: got %v, want ErrUnknownCRS", crs, err)
		}
	}
}

func TestHull(t *testing.T) {
	pl := NewPlane(LonLat{Lon: 5, Lat: 45})
	var pts []LonLat
	for _, q := range [][2]float64{{0, 0}, {10, 0}, {5, 5}, {10, 10}, {0, 10}, {2, 3}, {10, 5}} {
		pts = append(pts, pl.ToLonLat(q[0], q[1]))
	}
	h := Hull(pts)
	if len(h) != 4 || math.Abs(PolygonArea(h)-100) > 0.01 {
		t.Errorf("hull %v (area %.2f), want the 10 m square's 4 corners", h, PolygonArea(h))
	}
	if Hull(nil) != nil || len(Hull(pts[:1])) != 1 {
		t.Error("hull of no point or one point")
	}
}

func TestGrid(t *testing.T) {
	g, ok := NewGrid(0, 0, 10, 5, 1, 1000)
	if !ok || g.NX != 10 || g.NY != 5 || g.Cell != 1 {
		t.Fatalf("grid %+v", g)
	}
	cells := make([]bool, g.Len())
	if n := g.Fill(cells, [][2]float64{{0, 0}, {4, 0}, {4, 5}, {0, 5}}); n != 20 {
		t.Errorf("filled %d cells, want 20", n)
	}
	if n := g.Fill(cells, [][2]float64{{2, 0}, {6, 0}, {6, 5}, {2, 5}}); n != 10 {
		t.Errorf("filled %d more cells, want 10", n)
	}
	if i, ok := g.Index(3.5, 4.2); !ok || i != 4*10+3 {
		t.Errorf("Index = %d, %v", i, ok)
	}
	if _, ok := g.Index(-0.1, 1); ok {
		t.Error("a point outside has a cell")
	}
	if x, y := g.Centre(4*10 + 3); x != 3.5 || y != 4.5 {
		t.Errorf("Centre = %v, %v", x, y)
	}
	if _, ok := NewGrid(0, 0, 0, 1, 1, 10); ok {
		t.Error("grid of an empty box")
	}
}

func TestCoverage(t *testing.T) {
	sq := func(x, y, s float64) [][2]float64 {
		return [][2]float64{{x, y}, {x + s, y}, {x + s, y + s}, {x, y + s}}
	}
	for _, tc := range []struct {
		rings       [][][2]float64
		once, twice float64
	}{
		{[][][2]float64{sq(0, 0, 100)}, 10000, 0},
		{[][][2]float64{sq(0, 0, 100), sq(50, 0, 100)}, 15000, 5000},
		{[][][2]float64{sq(0, 0, 100), sq(0, 0, 100), sq(0, 0, 100)}, 10000, 10000},
		{nil, 0, 0},
	} {
		once, twice := Coverage(tc.rings)
		if math.Abs(once-tc.once) > 0.01*tc.once+1e-9 || math.Abs(twice-tc.twice) > 0.01*tc.twice+1e-9 {
			t.Errorf("got %.1f, %.1f m²; want %.1f, %.1f", once, twice, tc.once, tc.twice)
		}
	}
}
