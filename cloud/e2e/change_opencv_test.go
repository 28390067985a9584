//go:build opencv

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/tiff"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/raster"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

// upload posts a file with its metadata (scan_id, address_id, device,
// captured_at...) and returns its item id.
func upload(t *testing.T, base, path string, meta map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	m, _ := json.Marshal(meta)
	mw.WriteField("metadata", string(m))
	w, _ := mw.CreateFormFile("image", filepath.Base(path))
	w.Write(data)
	mw.Close()
	resp, err := http.Post(base+"/v1/images", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var acc api.UploadAccepted
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &acc); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload %s: %d %s", path, resp.StatusCode, b)
	}
	return acc.ItemID
}

// survey is the metadata of an image of scan at address captured at at.
func survey(scan, address string, at time.Time) map[string]string {
	return map[string]string{"scan_id": scan, "address_id": address, "captured_at": at.Format(time.RFC3339)}
}

// counted waits until the image is counted and returns it.
func counted(t *testing.T, base, id string) db.Image {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var img db.Image
		getJSON(t, base+"/v1/images/"+id, &img)
		if img.Count != nil {
			return img
		}
		if img.State == db.StateFailed || time.Now().After(deadline) {
			t.Fatalf("image %s not counted: state %s", id, img.State)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// paintOut writes a copy of the GeoTIFF src (same georeferencing) with the
// crowns in boxes painted over with ground: each box (grown by paintGrow)
// gets the pixels of the least green patch of its size nearby that meets
// none of the boxes of all, as a clone stamp would.
// paintGrow: a detector's box holds the core of a crown; its fringe
// reaches farther, and left in place it is found again as a crown.
const paintGrow = 1.6

func paintOut(t *testing.T, src, dst string, paint, all []db.Box) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tiff.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	b := m.Bounds()
	img := image.NewRGBA(b)
	draw.Draw(img, b, m, b.Min, draw.Src)
	grown := func(bx db.Box, k float64) image.Rectangle {
		w, h := (bx.XMax-bx.XMin)*k/2, (bx.YMax-bx.YMin)*k/2
		cx, cy := (bx.XMin+bx.XMax)/2, (bx.YMin+bx.YMax)/2
		return image.Rect(int(cx-w), int(cy-h), int(math.Ceil(cx+w)), int(math.Ceil(cy+h)))
	}
	var trees []image.Rectangle
	for _, bx := range all {
		trees = append(trees, grown(bx, 1.3))
	}
	bare := func(r image.Rectangle) bool {
		if !r.In(b) {
			return false
		}
		for _, tr := range trees {
			if tr.Overlaps(r) {
				return false
			}
		}
		return true
	}
	orig := image.NewRGBA(b)
	draw.Draw(orig, b, img, b.Min, draw.Src)
	// greenness is the mean excess green (2G - R - B) of r: the least
	// green bare patch nearby is the most like bare ground.
	greenness := func(r image.Rectangle) float64 {
		var sum float64
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := orig.RGBAAt(x, y)
				sum += 2*float64(c.G) - float64(c.R) - float64(c.B)
			}
		}
		return sum / float64(r.Dx()*r.Dy())
	}
	for _, bx := range paint {
		r := grown(bx, paintGrow).Intersect(b)
		var from image.Point
		best := math.Inf(1)
		for d := 1; d < 150; d += 2 {
			for _, o := range ring(d) {
				if p := r.Add(o); bare(p) {
					if g := greenness(p); g < best {
						from, best = p.Min, g
					}
				}
			}
		}
		if math.IsInf(best, 1) {
			t.Fatalf("no bare ground the size of %v in %s", r, src)
		}
		draw.Draw(img, r, orig, from, draw.Src)
	}
	plain := filepath.Join(t.TempDir(), "plain.tif")
	out, err := os.Create(plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(out, img, nil); err != nil {
		t.Fatal(err)
	}
	out.Close()
	// The georeferencing of src, onto the painted pixels.
	in0, err := raster.Inspect(t.Context(), src)
	if err != nil || in0.GeoRef == nil {
		t.Fatalf("inspect %s: %v", src, err)
	}
	tr := in0.GeoRef.Transform
	gdal(t, "-a_srs", in0.GeoRef.CRS, "-a_ullr", ftoa(tr[0]), ftoa(tr[3]), ftoa(tr[0]+float64(b.Dx())*tr[1]), ftoa(tr[3]+float64(b.Dy())*tr[5]),
		"-co", "COMPRESS=LZW", plain, dst)
}

// ring is the offsets at Chebyshev distance d from the origin.
func ring(d int) []image.Point {
	var out []image.Point
	for i := -d; i <= d; i++ {
		out = append(out, image.Pt(i, -d), image.Pt(i, d))
	}
	for i := -d + 1; i < d; i++ {
		out = append(out, image.Pt(-d, i), image.Pt(d, i))
	}
	return out
}

// shifted writes a copy of the GeoTIFF src whose georeferencing is moved
// by (east, north) metres: the same pixels, placed elsewhere (a survey
// whose position is off).
func shifted(t *testing.T, src, dst string, east, north float64) {
	t.Helper()
	in, err := raster.Inspect(t.Context(), src)
	if err != nil || in.GeoRef == nil {
		t.Fatalf("inspect %s: %v", src, err)
	}
	tr := in.GeoRef.Transform
	x0, y0 := tr[0]+east, tr[3]+north
	gdal(t, "-a_ullr", ftoa(x0), ftoa(y0), ftoa(x0+float64(in.Width)*tr[1]), ftoa(y0+float64(in.Height)*tr[5]), src, dst)
}

func gdal(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("gdal_translate", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("gdal_translate %v: %v: %s", args, err, out)
	}
}

func ftoa(v float64) string { return fmt.Sprintf("%.4f", v) }

// paintable picks n detected crowns to paint out: the best-scored ones
// whose box lies at least margin pixels inside the raster and meets no
// other box.
func paintable(boxes []db.Box, w, h, n int, margin float64) []db.Box {
	idx := make([]int, len(boxes))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return boxes[idx[a]].Score > boxes[idx[b]].Score })
	var out []db.Box
	for _, i := range idx {
		b := boxes[i]
		if b.XMin < margin || b.YMin < margin || b.XMax > float64(w)-margin || b.YMax > float64(h)-margin {
			continue
		}
		alone := true
		for j, o := range boxes {
			if j != i && o.XMin < b.XMax && o.XMax > b.XMin && o.YMin < b.YMax && o.YMax > b.YMin {
				alone = false
				break
			}
		}
		if alone && len(out) < n {
			out = append(out, b)
		}
	}
	return out
}

// TestReSurveyNEON: a NEON plot counted as one scan; the same raster with
// five detected crowns painted over in the ground's colour, as a later
// scan of the same place: change lists those crowns as lost and (nearly)
// nothing else; the same raster again: nothing at all. Then the same
// pixels placed 1 to 8 m off (a survey whose GPS is off), and the same
// ground cut on another pixel grid (the raster cropped by a few pixels):
// the changes two scans of unchanged imagery report.
func TestReSurveyNEON(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-cloud")
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	if err := raster.Available(); err != nil {
		t.Skip(err)
	}
	httpAddr := e2etest.FreeAddr(t)
	cloud := start(t, nil, bin, "serve", "--data", t.TempDir(), "--http", httpAddr, "--mqtt-listen", e2etest.FreeAddr(t), "--auth=off")
	waitReady(t, httpAddr, cloud)
	base := "http://" + httpAddr
	dir := t.TempDir()
	day := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

	type row struct {
		what, plot                               string
		kept, lost, new, uncertain, painted, hit int
		offset                                   string
	}
	var rows []row
	for _, plot := range []string{"OSBS_029", "TEAK_052"} {
		src := filepath.Join(data, "geo", "neon_plots", plot+".tif")
		first := counted(t, base, upload(t, base, src, survey(plot+"-2024", plot, day)))
		c := first.Count
		painted := paintable(c.Boxes, first.Width, first.Height, 5, 30)
		if len(painted) < 3 {
			t.Fatalf("%s: only %d crowns to paint out among %d", plot, len(painted), c.Count)
		}
		paintedTIF := filepath.Join(dir, plot+"-painted.tif")
		paintOut(t, src, paintedTIF, painted, c.Boxes)
		crop := filepath.Join(dir, plot+"-crop.tif")
		gdal(t, "-srcwin", "7", "5", "390", "391", src, crop)
		scans := []struct{ what, scan, path string }{
			{"same raster again", plot + "-again", src},
			{"5 crowns painted out", plot + "-painted", paintedTIF},
			{"cropped by 7 and 5 px", plot + "-crop", crop},
		}
		for _, d := range []float64{1, 3, 5, 8} {
			p := filepath.Join(dir, fmt.Sprintf("%s-off%.0f.tif", plot, d))
			shifted(t, src, p, d*0.6, -d*0.8)
			scans = append(scans, struct{ what, scan, path string }{fmt.Sprintf("placed %.0f m off", d), fmt.Sprintf("%s-off%.0f", plot, d), p})
		}
		for i, s := range scans {
			counted(t, base, upload(t, base, s.path, survey(s.scan, plot, day.AddDate(0, i+1, 0))))
		}
		for _, s := range scans {
			for _, q := range []string{"", "&max_shift_m=0"} {
				var cv api.ChangeView
				getJSON(t, base+"/v1/scans/"+s.scan+"/change?base="+plot+"-2024"+q, &cv)
				r := row{what: s.what, plot: plot, kept: cv.Kept, lost: len(cv.Lost), new: len(cv.New), uncertain: cv.Uncertain.Base + cv.Uncertain.Scan,
					offset: fmt.Sprintf("%.2f, %.2f m", cv.Offset.EastM, cv.Offset.NorthM)}
				if q != "" {
					r.what += ", no offset search"
				}
				if s.scan == plot+"-painted" {
					r.painted = len(painted)
					for _, p := range painted {
						for _, l := range cv.Lost {
							if math.Abs(*p.Lon-l.Lon) < 1e-7 && math.Abs(*p.Lat-l.Lat) < 1e-7 {
								r.hit++
							}
						}
					}
				}
				rows = append(rows, r)
				switch {
				case q != "":
				case s.scan == plot+"-again":
					if cv.Kept != len(c.Boxes) || len(cv.Lost)+len(cv.New) != 0 || cv.TreesPerHa.Change != 0 || cv.ForestCover == nil || cv.ForestCover.Change != 0 {
						t.Errorf("%s, %s: kept %d of %d, lost %d, new %d, per ha %+v, cover %+v; want no change", plot, s.what,
							cv.Kept, len(c.Boxes), len(cv.Lost), len(cv.New), cv.TreesPerHa, cv.ForestCover)
					}
				case s.scan == plot+"-painted":
					if r.hit < len(painted)-1 || len(cv.Lost)-r.hit > 2 || len(cv.New) > 2 {
						t.Errorf("%s, %s: %d of the %d painted crowns lost, %d other lost, %d new; want the painted ones and (nearly) nothing else",
							plot, s.what, r.hit, len(painted), len(cv.Lost)-r.hit, len(cv.New))
					}
				case s.scan == plot+"-crop":
					if len(cv.Lost)+len(cv.New) > 2 {
						t.Errorf("%s, %s: %d lost, %d new; want (nearly) none", plot, s.what, len(cv.Lost), len(cv.New))
					}
				case strings.HasPrefix(s.what, "placed"):
					if len(cv.Lost)+len(cv.New) != 0 {
						t.Errorf("%s, %s: %d lost, %d new (offset %s); want none once the offset is found", plot, s.what, len(cv.Lost), len(cv.New), r.offset)
					}
				}
			}
		}
	}
	t.Log("| plot | second scan | kept | lost | new | uncertain | painted crowns found lost | offset found |")
	t.Log("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		hit := ""
		if r.painted > 0 {
			hit = fmt.Sprintf("%d of %d", r.hit, r.painted)
		}
		t.Logf("| %s | %s | %d | %d | %d | %d | %s | %s |", r.plot, r.what, r.kept, r.lost, r.new, r.uncertain, hit, r.offset)
	}

	// The place lists its scans in time order; GET /v1/scans filters by it.
	var place api.PlaceView
	getJSON(t, base+"/v1/places/OSBS_029", &place)
	if len(place.Scans) != 8 || place.Scans[0].ScanID != "OSBS_029-2024" || place.Scans[1].ScanID != "OSBS_029-again" {
		t.Errorf("place OSBS_029: %d scans, first %+v", len(place.Scans), place.Scans)
	}
	var list api.ScanList
	getJSON(t, base+"/v1/scans?address_id=TEAK_052&limit=2", &list)
	if len(list.Scans) != 2 || list.NextCursor == "" || list.Scans[0].ScanID != "TEAK_052-off8" || len(list.Scans[0].Footprint) != 5 {
		t.Errorf("scans of TEAK_052: %+v", list)
	}
}
