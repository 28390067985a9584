package photo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// geoData is ../shared/data/geo, or the test is skipped.
func geoData(t testing.TB) string {
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

func TestDronePhotos(t *testing.T) {
	dir := filepath.Join(geoData(t), "drone_photos", "images")
	names, _ := filepath.Glob(filepath.Join(dir, "DJI_*.JPG"))
	if len(names) != 18 {
		t.Fatalf("got %d photos, want 18", len(names))
	}
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m := Read(b)
		if len(m.Problems) > 0 {
			t.Errorf("%s: problems %v", filepath.Base(p), m.Problems)
		}
		if m.GPS == nil || m.Model != "FC300S" || m.FocalMM != 3.61 || m.Focal35MM != 20 || m.RelAltM == nil ||
			m.GimbalPitchDeg == nil || m.GimbalYawDeg == nil || m.FlightYawDeg == nil || m.Time.IsZero() {
			t.Fatalf("%s: incomplete metadata %+v", filepath.Base(p), m)
		}
		if len(m.Segments) != 2 {
			t.Errorf("%s: %d APP1 segments kept, want 2 (EXIF, XMP)", filepath.Base(p), len(m.Segments))
		}
		g := m.Ground(4000, Options{})
		if g.Source != SourceCamera || math.Abs(g.GSDM/0.0178-1) > 0.05 {
			t.Errorf("%s: GSD %.5f m (%s, %s), want within 5%% of 0.0178", filepath.Base(p), g.GSDM, g.Source, g.SensorFrom)
		}
		if *m.GimbalPitchDeg > -89 {
			t.Errorf("%s: gimbal pitch %v, want nadir", filepath.Base(p), *m.GimbalPitchDeg)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "DJI_0020.JPG"))
	m := Read(b)
	if *m.RelAltM != 40.1 || *m.GimbalYawDeg != 44.2 || *m.FlightYawDeg != 42.8 || *m.GimbalPitchDeg != -89.9 ||
		math.Abs(m.GPS.Lat-46.8427776) > 1e-6 || math.Abs(m.GPS.Lon+91.9942994) > 1e-6 {
		t.Errorf("DJI_0020: got rel %v yaw %v/%v pitch %v at %v, %v; want metadata.csv's", *m.RelAltM, *m.GimbalYawDeg,
			*m.FlightYawDeg, *m.GimbalPitchDeg, m.GPS.Lat, m.GPS.Lon)
	}
	if y := m.Yaw(); y == nil || *y != 44.2 {
		t.Errorf("Yaw: got %v, want the gimbal's 44.2", y)
	}
}

func TestNEONGeoTIFF(t *testing.T) {
	dir := filepath.Join(geoData(t), "neon_plots")
	for _, tc := range []struct {
		plot   string
		crs    string
		x0, y0 float64
	}{
		{"OSBS_029", "EPSG:32617", 404211.9, 3285142.9},
		{"SJER_045", "EPSG:32611", 257266.0, 4110901.4},
		{"SJER_055", "EPSG:32611", 257598.2, 4111229.5},
		{"TEAK_052", "EPSG:32611", 321192.7, 4097771.6},
		{"HARV_026", "EPSG:32618", 726491.0, 4699078.4},
	} {
		t.Run(tc.plot, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.plot+".tif"))
			if err != nil {
				t.Fatal(err)
			}
			m := Read(b)
			if m.GeoTIFF == nil {
				t.Fatalf("no georeferencing read (problems %v)", m.Problems)
			}
			tr := m.GeoTIFF.Transform
			if m.GeoTIFF.CRS != tc.crs || math.Abs(tr[0]-tc.x0) > 0.05 || math.Abs(tr[3]-tc.y0) > 0.05 ||
				math.Abs(tr[1]-0.1) > 1e-9 || math.Abs(tr[5]+0.1) > 1e-9 || tr[2] != 0 || tr[4] != 0 {
				t.Errorf("got %s %v, want %s with corner %v, %v and 0.1 m pixels", m.GeoTIFF.CRS, tr, tc.crs, tc.x0, tc.y0)
			}
			g := m.Ground(400, Options{})
			if g.Source != SourceGeoTIFF || math.Abs(g.GSDM-0.1) > 1e-9 {
				t.Errorf("GSD: got %v (%s), want 0.1 from the GeoTIFF", g.GSDM, g.Source)
			}
		})
	}
}

func TestGround(t *testing.T) {
	h := 40.0
	for _, tc := range []struct {
		name   string
		m      Meta
		width  int
		o      Options
		want   float64
		source string
		note   string
	}{
		{"manual wins", Meta{Model: "FC300S", FocalMM: 3.61, RelAltM: &h}, 4000, Options{GSDM: 0.05}, 0.05, SourceConfig, ""},
		{"sensor table", Meta{Model: "FC300S", FocalMM: 3.61, RelAltM: &h}, 4000, Options{}, 6.17 * 40 / (3.61 * 4000), SourceCamera, ""},
		{"35 mm equivalent", Meta{Model: "X", FocalMM: 4, Focal35MM: 24}, 3000, Options{AltitudeM: 10}, 36 * 10 / (24 * 3000.0), SourceCamera, "35 mm"},
		{"GPS but no height", Meta{Model: "FC300S", FocalMM: 3.61}, 4000, Options{}, 0, "", "no height above ground"},
		{"unknown camera", Meta{Model: "Nokia", FocalMM: 4}, 4000, Options{AltitudeM: 3}, 0, "", "not in the sensor table"},
		{"nothing", Meta{}, 640, Options{}, 0, "", "no camera data"},
		{"configured camera", Meta{}, 1280, Options{SensorWidthMM: 6.45, FocalMM: 4.74, AltitudeM: 20}, 6.45 * 20 / (4.74 * 1280), SourceCamera, ""},
		{"telemetry height wins", Meta{RelAltM: &h}, 1280, Options{SensorWidthMM: 6.45, FocalMM: 4.74, AltitudeM: 20, TelemetryHeightM: ptr(80)},
			6.45 * 80 / (4.74 * 1280), SourceTelemetry, ""},
		{"EXIF focal, configured sensor", Meta{Model: "Nokia", FocalMM: 4}, 4000, Options{SensorWidthMM: 5, FocalMM: 9, TelemetryHeightM: ptr(10)},
			5 * 10 / (4 * 4000.0), SourceTelemetry, ""},
		{"telemetry below home", Meta{}, 1280, Options{SensorWidthMM: 6.45, FocalMM: 4.74, TelemetryHeightM: ptr(-2)}, 0, "", "height above ground -2.0 m (telemetry)"},
		{"telemetry, no camera", Meta{}, 1280, Options{TelemetryHeightM: ptr(30)}, 0, "", "camera.sensor_width_mm"},
		{"geographic GeoTIFF", Meta{GeoTIFF: &GeoRef{CRS: "EPSG:4326", Transform: [6]float64{10, 1e-6, 0, 0, 0, -1e-6}}}, 100, Options{}, 0.11095, SourceGeoTIFF, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.m.Ground(tc.width, tc.o)
			if math.Abs(g.GSDM-tc.want) > 1e-4*max(tc.want, 1e-3) || g.Source != tc.source || !strings.Contains(g.Note, tc.note) {
				t.Errorf("got %v %q %q, want %v %q with note %q", g.GSDM, g.Source, g.Note, tc.want, tc.source, tc.note)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

func TestSubSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"25": 250 * time.Millisecond, "007": 7 * time.Millisecond, "": 0, "1x": 0,
		"1234567891": 123456789} {
		if got := subSeconds(in); got != want {
			t.Errorf("subSeconds(%q) = %v, want %v", in, got, want)
		}
	}
}

// djiJPEG is a small JPEG with an XMP APP1 segment holding packet.
func djiJPEG(t testing.TB, packet string) []byte {
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	seg := append([]byte(xmpHeader), packet...)
	var out bytes.Buffer
	out.Write([]byte{0xff, 0xd8, 0xff, 0xe1})
	binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(plain.Bytes()[2:])
	return out.Bytes()
}

const goodXMP = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:RelativeAltitude="+60.5" drone-dji:GimbalPitchDegree="-90.0">
<drone-dji:GimbalYawDegree>-12.5</drone-dji:GimbalYawDegree>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`

func TestXMP(t *testing.T) {
	m := Read(djiJPEG(t, goodXMP))
	if len(m.Problems) > 0 || m.RelAltM == nil || *m.RelAltM != 60.5 || m.GimbalYawDeg == nil || *m.GimbalYawDeg != -12.5 ||
		m.GimbalPitchDeg == nil || *m.GimbalPitchDeg != -90 || m.FlightYawDeg != nil {
		t.Fatalf("got %+v", m)
	}
	for _, bad := range []string{
		`<x:xmpmeta><rdf:Description drone-dji:RelativeAltitude="40"`, // cut off
		strings.Replace(goodXMP, "+60.5", "sixty", 1),
		strings.Replace(goodXMP, "-12.5", "1e9", 1),
		"\x00\x01garbage",
	} {
		m := Read(djiJPEG(t, bad))
		if m.RelAltM != nil || m.GimbalYawDeg != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "corrupt XMP") {
			t.Errorf("%.40q: got height %v, yaw %v, problems %v; want nothing and one problem", bad, m.RelAltM, m.GimbalYawDeg, m.Problems)
		}
		if g := m.Ground(8, Options{}); g.GSDM != 0 || g.Note == "" {
			t.Errorf("%.40q: GSD %v with note %q, want unknown with a reason", bad, g.GSDM, g.Note)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(djiJPEG(f, goodXMP))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	if d := os.Getenv("CANOPY_SHARED_DATA"); d != "" {
		if b, err := os.ReadFile(filepath.Join(d, "geo", "neon_plots", "SJER_045.tif")); err == nil {
			f.Add(b[:4096])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := Read(b)
		g := m.Ground(100, Options{AltitudeM: 10})
		if g.GSDM < 0 || math.IsNaN(g.GSDM) {
			t.Fatalf("GSD %v", g.GSDM)
		}
	})
}
