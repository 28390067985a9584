package ortho

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/raster"
)

// markers is a fake counter: it finds the red squares of an image (one
// box around each 4-connected red region), as a detector finds crowns.
type markers struct{ gsd float64 }

func (m markers) Info() count.Info  { return count.Info{Method: "markers"} }
func (m markers) Close() error      { return nil }
func (m markers) ModelGSD() float64 { return m.gsd }
func (m markers) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	seen := make([]bool, w*h)
	red := func(x, y int) bool {
		c := img.RGBAAt(x, y)
		return c.R > 150 && c.G < 100 && c.B < 100
	}
	var boxes []count.Box
	for y := range h {
		for x := range w {
			if seen[y*w+x] || !red(x, y) {
				continue
			}
			b := count.Box{XMin: float64(x), YMin: float64(y), XMax: float64(x + 1), YMax: float64(y + 1), Score: 1}
			stack := [][2]int{{x, y}}
			seen[y*w+x] = true
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				b.XMin, b.YMin = math.Min(b.XMin, float64(p[0])), math.Min(b.YMin, float64(p[1]))
				b.XMax, b.YMax = math.Max(b.XMax, float64(p[0]+1)), math.Max(b.YMax, float64(p[1]+1))
				for _, d := range [][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
					q := [2]int{p[0] + d[0], p[1] + d[1]}
					if q[0] >= 0 && q[0] < w && q[1] >= 0 && q[1] < h && !seen[q[1]*w+q[0]] && red(q[0], q[1]) {
						seen[q[1]*w+q[0]] = true
						stack = append(stack, q)
					}
				}
			}
			boxes = append(boxes, b)
		}
	}
	return count.Result{Count: len(boxes), Boxes: boxes, Info: m.Info()}, nil
}

func needGDAL(t testing.TB) {
	t.Helper()
	if err := raster.Available(); err != nil {
		t.Skip(err)
	}
}

func gdal(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("gdal_translate", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("gdal_translate %v: %v: %s", args, err, out)
	}
}

// TestCountWindows: red 20x20 squares on a grid, in a 3000x2000 GeoTIFF at
// 0.02 m (counted at 0.1 m, so in windows of 300 pixels, 1500 raster
// pixels): each square is found once, at its place, including those in
// the overlaps and on window edges.
func TestCountWindows(t *testing.T) {
	needGDAL(t)
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 3000, 2000))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	var want [][2]float64
	for cy := 60.0; cy < 2000; cy += 230 {
		for cx := 45.0; cx < 3000; cx += 170 {
			for y := int(cy) - 10; y < int(cy)+10; y++ {
				for x := int(cx) - 10; x < int(cx)+10; x++ {
					img.SetRGBA(x, y, color.RGBA{220, 20, 20, 255})
				}
			}
			want = append(want, [2]float64{cx, cy})
		}
	}
	pngPath := filepath.Join(dir, "markers.png")
	f, _ := os.Create(pngPath)
	png.Encode(f, img)
	f.Close()
	tif := filepath.Join(dir, "markers.tif")
	gdal(t, "-a_srs", "EPSG:32615", "-a_ullr", "500000", "5000040", "500060", "5000000", "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", pngPath, tif)
	ctx := context.Background()
	in, err := raster.Inspect(ctx, tif)
	if err != nil {
		t.Fatal(err)
	}
	res, st, err := Count(ctx, markers{gsd: 0.1}, tif, in, 0.02, Options{Window: 300, Overlap: 60})
	if err != nil {
		t.Fatal(err)
	}
	if st.Windows < 6 || st.MaxPixels > 300*300 || st.CountedGSD != 0.1 {
		t.Errorf("stats %+v: want at least 6 windows of at most 300x300", st)
	}
	if res.Count != len(want) {
		t.Errorf("found %d squares, want %d", res.Count, len(want))
	}
	for _, p := range want {
		n := 0
		for _, b := range res.Boxes {
			x, y := b.Centre()
			if math.Abs(x-p[0]) <= 6 && math.Abs(y-p[1]) <= 6 {
				n++
			}
		}
		if n != 1 {
			t.Errorf("square at %v found %d times, want once", p, n)
		}
	}
}

// TestBoundedMemory counts a 12000x12000 RGBA orthophoto (549 MiB of
// pixels decoded; tiled, DEFLATE, BigTIFF as OpenDroneMap writes them) in a
// child process, and checks that neither the child nor the GDAL tools it
// runs ever held more than a fixed amount, a fraction of the raster: the
// bound is set by the window (1024x1024 at 0.1 m) and GDAL's block cache
// (64 MB), not by the raster.
func TestBoundedMemory(t *testing.T) {
	if path := os.Getenv("CANOPY_ORTHO_CHILD"); path != "" {
		countChild(path)
		return
	}
	needGDAL(t)
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	big := filepath.Join(t.TempDir(), "big.tif")
	// 12000 pixels of 0.018 m: the sample orthophoto enlarged 16 times.
	gdal(t, "-outsize", "12000", "12000", "-r", "nearest", "-a_ullr", "278966.322", "8597744.154", "279182.322", "8597528.154",
		"-b", "1", "-b", "2", "-b", "3", "-b", "mask", "-co", "ALPHA=YES", "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE",
		"-co", "ZLEVEL=1", "-co", "BIGTIFF=YES", "--config", "GDAL_CACHEMAX", "64",
		filepath.Join(data, "geo", "drone_ortho", "australia.tif"), big)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBoundedMemory$")
	cmd.Env = append(os.Environ(), "CANOPY_ORTHO_CHILD="+big)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var r childReport
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "REPORT "); ok {
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r.Windows == 0 {
		t.Fatalf("no report from the child:\n%s", out)
	}
	const decoded = 12000 * 12000 * 4
	t.Logf("raster %d MiB decoded; %d windows (largest %d px); peak RSS: counting process %d MiB, GDAL tools %d MiB",
		decoded>>20, r.Windows, r.MaxPixels, r.SelfKB>>10, r.ChildrenKB>>10)
	if r.SelfKB > 128<<10 || r.ChildrenKB > 192<<10 {
		t.Errorf("peak RSS %d MiB (self), %d MiB (GDAL): want at most 128 and 192 MiB, for a %d MiB raster", r.SelfKB>>10, r.ChildrenKB>>10, decoded>>20)
	}
}

type childReport struct {
	Windows, MaxPixels, Count int
	SelfKB, ChildrenKB        int64
}

// countChild counts path and prints its peak memory and its children's.
func countChild(path string) {
	ctx := context.Background()
	in, err := raster.Inspect(ctx, path)
	if err != nil {
		fmt.Println("inspect:", err)
		os.Exit(1)
	}
	res, st, err := Count(ctx, markers{gsd: 0.1}, path, in, 0.018, Options{Window: 1024})
	if err != nil {
		fmt.Println("count:", err)
		os.Exit(1)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	b, _ := json.Marshal(childReport{Windows: st.Windows, MaxPixels: st.MaxPixels, Count: res.Count, SelfKB: vmHWM(), ChildrenKB: ru.Maxrss})
	fmt.Println("REPORT " + string(b))
}

// vmHWM is this process's peak resident set in KiB (Linux).
func vmHWM() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return 0
}
