package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestDashboardChange: two surveys of one place, the later with one crown
// gone; the dashboard lists them under the place, in time order, and its
// scan map draws the lost crown in red (and nothing new in blue).
func TestDashboardChange(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium)
	}
	bin := e2etest.Bin(t, "canopy-cloud")
	before := geoTIFF(t, crowns(t))
	if before == nil {
		t.Skip("no GDAL: nothing is placed")
	}
	m, err := png.Decode(bytes.NewReader(crowns(t)))
	if err != nil {
		t.Fatal(err)
	}
	felled := image.NewRGBA(m.Bounds())
	draw.Draw(felled, felled.Bounds(), m, image.Point{}, draw.Src)
	draw.Draw(felled, image.Rect(90, 90, 150, 150), image.NewUniform(color.RGBA{120, 95, 60, 255}), image.Point{}, draw.Src) // the crown at 120, 120
	var fb bytes.Buffer
	png.Encode(&fb, felled)
	after := geoTIFF(t, fb.Bytes())

	httpAddr := e2etest.FreeAddr(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "--data", t.TempDir(), "--http", httpAddr, "--mqtt-listen", e2etest.FreeAddr(t),
		"--auth=off", "--method", "classical", "--log-level", "warn")
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	srv.Cancel = func() error { return srv.Process.Signal(os.Interrupt) }
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	}()
	base := "http://" + httpAddr
	for {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatal("serve did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, u := range []struct {
		scan, at string
		tif      []byte
	}{{"spring", "2026-04-01T10:00:00Z", before}, {"autumn", "2026-10-01T10:00:00Z", after}} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		w, _ := mw.CreateFormFile("image", u.scan+".tif")
		w.Write(u.tif)
		mw.WriteField("metadata", fmt.Sprintf(`{"scan_id":%q,"address_id":"park","captured_at":%q}`, u.scan, u.at))
		mw.Close()
		r, err := http.Post(base+"/v1/images", mw.FormDataContentType(), &body)
		if err != nil || r.StatusCode != http.StatusAccepted {
			t.Fatalf("upload %s: %v %v", u.scan, r, err)
		}
		r.Body.Close()
	}
	var change struct {
		Kept      int
		Lost, New []struct{ Lon, Lat float64 }
	}
	for deadline := time.Now().Add(time.Minute); ; {
		var sc struct{ Counted int }
		if r, err := http.Get(base + "/v1/scans/autumn"); err == nil {
			json.NewDecoder(r.Body).Decode(&sc)
			r.Body.Close()
		}
		if sc.Counted == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second survey was not counted")
		}
		time.Sleep(200 * time.Millisecond)
	}
	r, err := http.Get(base + "/v1/scans/autumn/change?base=spring")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if err := json.Unmarshal(b, &change); err != nil || len(change.Lost) != 1 || len(change.New) != 0 || change.Kept < 10 {
		t.Fatalf("change: %v; want the felled crown lost and nothing new:\n%s", err, b)
	}

	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 1000))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#scanMap circle.change"))); err != nil {
		t.Fatalf("browser: %v", err)
	}
	lost, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#scanMap circle.change.lost").length`))
	added, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#scanMap circle.change.new").length`))
	stroke, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#scanMap circle.change.lost")).stroke`))
	stats, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#changeStats")))
	order, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.place[data-place="park"] .scan')].map((e) => e.dataset.scan).join(",")`))
	if lost != 1 || added != 0 || stroke != "rgb(221, 34, 34)" || !strings.Contains(stats, "since spring") || !strings.Contains(stats, "1 lost") || order != "spring,autumn" {
		t.Errorf("dashboard: %d lost circles (stroke %s), %d new; stats %q; place lists %q; want 1 red, 0, the change since spring, spring,autumn",
			lost, stroke, added, stats, order)
	}
	t.Logf("scan map: %s", stats)
	shot, err := chromedp.Run(bctx, chromedp.Screenshot(chromedp.CSS("section:has(#scanMap)")))
	if err != nil {
		t.Fatalf("scan map screenshot: %v", err)
	}
	keepShot(t, "scan-map-change.png", shot)
}
