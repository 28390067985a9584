//go:build opencv

package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/register/registertest"
	"github.com/canopy-forest/canopy/internal/e2etest"
	"github.com/canopy-forest/canopy/internal/rgba"
)

// uploadTile posts img to the cloud at base as a photo of scanID with no
// GPS, captured at.
func uploadTile(t *testing.T, base, scanID, name string, img image.Image, at time.Time) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	iw, _ := mw.CreateFormFile("image", name)
	if err := png.Encode(iw, img); err != nil {
		t.Fatal(err)
	}
	mw.WriteField("metadata", fmt.Sprintf(`{"scan_id":%q,"captured_at":%q}`, scanID, at.Format(time.RFC3339)))
	mw.Close()
	resp, err := http.Post(base+"/v1/images", mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload %s: %d %s", name, resp.StatusCode, body)
	}
}

// plot is the image the tiles are cut from: a NEON plot of the shared
// data (400 x 400 at 0.1 m), or a synthetic scene without it.
func plot(t *testing.T) (*image.RGBA, string) {
	if data := os.Getenv("CANOPY_SHARED_DATA"); data != "" {
		p := filepath.Join(data, "trees", "OSBS_029.png")
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		return rgba.Of(img), "OSBS_029"
	}
	img, _ := registertest.Scene(400, 400, 40, 5)
	return img, "a synthetic scene"
}

// TestScanOfTiles cuts four overlapping tiles (a third of each tile
// shared with its neighbour, the last turned half a turn as a return
// flight line is) out of one plot and uploads them to the built
// canopy-cloud as one scan with no GPS, and the whole plot as another.
// The workers count the tiles and register them to each other: the scan
// counts each tree once, close to the whole plot's count (not the sum of
// the tiles' counts), and serves its mosaic as a JPEG, which export
// writes too.
func TestScanOfTiles(t *testing.T) {
	bin := binDir(t)
	src, name := plot(t)
	data := t.TempDir()
	httpAddr := e2etest.FreeAddr(t)
	cloud := start(t, nil, filepath.Join(bin, "canopy-cloud"), "serve", "--data", data, "--http", httpAddr,
		"--mqtt-listen", e2etest.FreeAddr(t), "--auth=off")
	waitReady(t, httpAddr, cloud)
	base := "http://" + httpAddr
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	uploadTile(t, base, "whole", "whole.png", src, at)
	tiles := registertest.Grid(400, 400, 240, 240, 2, 2, false)
	tiles[3].Turned = true
	for i, tile := range tiles {
		uploadTile(t, base, "tiles", fmt.Sprintf("tile-%d.png", i), tile.Cut(src), at.Add(time.Duration(i+1)*time.Second))
	}
	var whole, sv api.ScanView
	deadline := time.Now().Add(3 * time.Minute)
	for {
		getJSON(t, base+"/v1/scans/whole", &whole)
		getJSON(t, base+"/v1/scans/tiles", &sv)
		if r := sv.Registration; whole.Counted == 1 && sv.Counted == 4 && r != nil && r.State != "pending" && !r.Pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not counted and registered after 3 minutes: %+v\n%s", sv.Registration, tail(cloud.log.String(), 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	st := sv.Registration.Stats
	t.Logf("%s: whole plot %d trees; four tiles %d counted, %d trees registered (%d of 4 photos registered, %d pairs, %.3f m reprojection error)",
		name, whole.TotalTrees, sv.SumOfCounts, sv.TotalTrees, st.Registered, st.PairsMatched, st.ReprojErrorM)
	if sv.Registration.State != "registered" || st.Registered != 4 || st.Blocks != 1 || sv.LocalTrees != sv.TotalTrees || sv.AreaHa <= 0 {
		t.Fatalf("registration %+v, %d local trees of %d, %.4f ha", sv.Registration, sv.LocalTrees, sv.TotalTrees, sv.AreaHa)
	}
	// The tiles' counts add the overlaps up; the registered scan counts
	// them once, near the whole plot's count (crowns cut by a tile's edge
	// are found a little differently in the tile than in the plot).
	if sv.TotalTrees >= sv.SumOfCounts || diff(sv.TotalTrees, whole.TotalTrees) > max(3, whole.TotalTrees/10) {
		t.Errorf("total_trees %d; whole plot %d, tiles' counts %d", sv.TotalTrees, whole.TotalTrees, sv.SumOfCounts)
	}
	resp, err := http.Get(base + sv.Registration.MosaicURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("mosaic: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	m, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil || m.Bounds().Dx() < 300 || m.Bounds().Dx() > 4096 {
		t.Fatalf("mosaic: %v, %v", err, m.Bounds())
	}
	out := filepath.Join(t.TempDir(), "tiles.jpg")
	if o, err := exec.Command(filepath.Join(bin, "canopy-cloud"), "export", "--scan", "tiles", "--format", "mosaic",
		"--out", out, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("export mosaic: %v\n%s", err, o)
	}
	if f, err := os.ReadFile(out); err != nil || !bytes.Equal(f, b) {
		t.Errorf("export wrote %d bytes (%v), the endpoint served %d", len(f), err, len(b))
	}
	var reg api.RegistrationView
	getJSON(t, base+"/v1/scans/tiles/registration", &reg)
	if len(reg.Pairs) != 6 || len(reg.Photos) != 4 {
		t.Errorf("registration: %d pairs, %d photos; want 6 and 4", len(reg.Pairs), len(reg.Photos))
	}
}

func diff(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}
