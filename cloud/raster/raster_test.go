package raster

import (
	"context"
	"errors"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/image/tiff"
)

func needGDAL(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
}

func geoData(t testing.TB) string {
	t.Helper()
	d := os.Getenv("CANOPY_SHARED_DATA")
	if d == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	return filepath.Join(d, "geo")
}

func TestInspect(t *testing.T) {
	needGDAL(t)
	g := geoData(t)
	ctx := context.Background()
	in, err := Inspect(ctx, filepath.Join(g, "neon_plots", "OSBS_029.tif"))
	if err != nil {
		t.Fatal(err)
	}
	want := [6]float64{404211.9, 0.1, 0, 3285142.9, 0, -0.1}
	if in.Width != 400 || in.Height != 400 || in.RGB != [3]int{1, 2, 3} || in.Alpha != 0 || in.GeoRef == nil ||
		in.GeoRef.CRS != "EPSG:32617" || !near(in.GeoRef.Transform, want) || in.Compression != "LZW" {
		t.Errorf("OSBS_029: got %+v (georef %+v)", in, in.GeoRef)
	}
	in, err = Inspect(ctx, filepath.Join(g, "drone_ortho", "australia.tif"))
	if err != nil || in.Width != 751 || in.Height != 708 || in.GeoRef == nil || in.GeoRef.CRS != "EPSG:32753" || in.GeoRef.Transform[1] != 0.018 {
		t.Errorf("australia: got %+v, %v", in, err)
	}
	junk := filepath.Join(t.TempDir(), "junk.tif")
	os.WriteFile(junk, []byte("II*\x00 not really a tiff"), 0o600)
	if _, err := Inspect(ctx, junk); !errors.Is(err, ErrNotRaster) {
		t.Errorf("junk: got %v, want ErrNotRaster", err)
	}
}

// TestReadWindow compares a window read through GDAL with the same pixels
// decoded by Go's TIFF decoder, and checks resampling sizes.
func TestReadWindow(t *testing.T) {
	needGDAL(t)
	path := filepath.Join(geoData(t), "neon_plots", "SJER_045.tif")
	ctx := context.Background()
	in, err := Inspect(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	full, err := tiff.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	src := image.Rect(37, 101, 237, 181)
	w, err := ReadWindow(ctx, path, in, src, src.Dx(), src.Dy())
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < src.Dy(); y++ {
		for x := 0; x < src.Dx(); x++ {
			r, g, b, _ := full.At(src.Min.X+x, src.Min.Y+y).RGBA()
			c := w.RGBAAt(x, y)
			if uint8(r>>8) != c.R || uint8(g>>8) != c.G || uint8(b>>8) != c.B || c.A != 255 {
				t.Fatalf("pixel %d,%d: GDAL %v, Go %d %d %d", x, y, c, r>>8, g>>8, b>>8)
			}
		}
	}
	small, err := ReadWindow(ctx, path, in, image.Rect(0, 0, 400, 400), 40, 40)
	if err != nil || small.Rect.Dx() != 40 || small.Rect.Dy() != 40 {
		t.Fatalf("shrunk: %v, %v", small.Rect, err)
	}
	if _, err := ReadWindow(ctx, path, in, image.Rect(300, 300, 500, 500), 10, 10); err == nil {
		t.Error("a window beyond the raster: want an error")
	}
}

// TestOrthoLayout: a raster written as OpenDroneMap writes orthophotos
// (tiled, compressed, BigTIFF, RGBA with an alpha band) is read with its
// alpha.
func TestOrthoLayout(t *testing.T) {
	needGDAL(t)
	src := filepath.Join(geoData(t), "drone_ortho", "australia.tif")
	dst := filepath.Join(t.TempDir(), "odm_orthophoto.tif")
	out, err := exec.Command("gdal_translate", "-q", "-b", "1", "-b", "2", "-b", "3", "-b", "mask", "-co", "ALPHA=YES",
		"-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", "-co", "BIGTIFF=YES", src, dst).CombinedOutput()
	if err != nil {
		t.Fatalf("gdal_translate: %v: %s", err, out)
	}
	ctx := context.Background()
	in, err := Inspect(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !in.BigTIFF || !in.Tiled || in.Compression != "DEFLATE" || in.Alpha != 4 || in.RGB != [3]int{1, 2, 3} {
		t.Errorf("got %+v, want a tiled DEFLATE BigTIFF with alpha in band 4", in)
	}
	w, err := ReadWindow(ctx, dst, in, image.Rect(0, 0, 64, 64), 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	if a := w.RGBAAt(10, 10).A; a != 255 && a != 0 {
		t.Errorf("alpha %d, want 0 or 255", a)
	}
}

func near(a, b [6]float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-6 {
			return false
		}
	}
	return true
}

func TestIsTIFF(t *testing.T) {
	for _, tc := range []struct {
		header    string
		tiff, big bool
	}{
		{"II*\x00\x08", true, false},
		{"MM\x00*", true, false},
		{"II+\x00", true, true},
		{"MM\x00+", true, true},
		{"II*", false, false},
		{"\x89PNG", false, false},
		{"", false, false},
	} {
		if got := IsTIFF([]byte(tc.header)); got != tc.tiff {
			t.Errorf("IsTIFF(%q) = %v, want %v", tc.header, got, tc.tiff)
		}
		if got := IsBigTIFF([]byte(tc.header)); got != tc.big {
			t.Errorf("IsBigTIFF(%q) = %v, want %v", tc.header, got, tc.big)
		}
	}
}
