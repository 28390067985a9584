package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

const chromium = "/usr/bin/chromium"

// crowns is a synthetic aerial image: green discs on brown ground.
func crowns(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 320))
	for y := range 320 {
		for x := range 320 {
			img.Set(x, y, color.RGBA{120, 95, 60, 255})
		}
	}
	for cy := 40; cy < 320; cy += 80 {
		for cx := 40; cx < 320; cx += 80 {
			for y := cy - 25; y <= cy+25; y++ {
				for x := cx - 25; x <= cx+25; x++ {
					if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= 625 {
						d := uint8(((x-cx)*(x-cx) + (y-cy)*(y-cy)) / 10)
						img.Set(x, y, color.RGBA{30, 150 - d, 40, 255})
					}
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDashboard(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium)
	}
	bin := e2etest.Bin(t, "canopy-cloud")
	data := t.TempDir()
	out, err := exec.Command(bin, "token", "create", "--scope", "write", "--name", "e2e", "--data", data).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))

	httpAddr := e2etest.FreeAddr(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "--data", data, "--http", httpAddr, "--mqtt-listen", e2etest.FreeAddr(t), "--log-level", "warn")
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	srv.Cancel = func() error { return srv.Process.Signal(os.Interrupt) }
	srv.WaitDelay = 10 * time.Second
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
	call := func(method, path, ct string, body []byte) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		return http.DefaultClient.Do(req)
	}
	for {
		r, err := http.Get(base + "/healthz")
		if err == nil {
			r.Body.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatal("serve did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("image", "crowns.png")
	w.Write(crowns(t))
	mw.WriteField("metadata", `{"scan_id":"e2e-scan","address_id":"Main St 1","tree_type":"oak","lat":52.37,"lon":4.89}`)
	mw.Close()
	r, err := call("POST", "/v1/images", mw.FormDataContentType(), body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		ItemID string `json:"item_id"`
	}
	json.NewDecoder(r.Body).Decode(&acc)
	r.Body.Close()
	if r.StatusCode != http.StatusAccepted || acc.ItemID == "" {
		t.Fatalf("upload: %d", r.StatusCode)
	}
	var img struct {
		State string
		Count *struct{ Count int }
	}
	for img.State != "counted" {
		if img.State == "failed" || ctx.Err() != nil {
			t.Fatalf("image not counted: state %q", img.State)
		}
		time.Sleep(200 * time.Millisecond)
		r, err := call("GET", "/v1/images/"+acc.ItemID, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(r.Body).Decode(&img)
		r.Body.Close()
	}
	want := fmt.Sprint(img.Count.Count)
	t.Logf("item %s counted: %s trees", acc.ItemID, want)

	// A GeoTIFF of the same crowns (WGS 84, 0.1 m pixels) in the same scan:
	// its trees go on the scan map.
	placed := 0
	if geotiff := crownsGeoTIFF(t); geotiff != nil {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		w, _ := mw.CreateFormFile("image", "crowns.tif")
		w.Write(geotiff)
		mw.WriteField("metadata", `{"scan_id":"e2e-scan"}`)
		mw.Close()
		r, err := call("POST", "/v1/images", mw.FormDataContentType(), body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		var tif struct {
			ItemID string `json:"item_id"`
		}
		json.NewDecoder(r.Body).Decode(&tif)
		r.Body.Close()
		if r.StatusCode != http.StatusAccepted {
			t.Fatalf("GeoTIFF upload: %d", r.StatusCode)
		}
		var timg struct {
			State string
			Count *struct {
				Count     int
				Positions string
			}
		}
		for timg.State != "counted" {
			if timg.State == "failed" || ctx.Err() != nil {
				t.Fatalf("GeoTIFF not counted: state %q", timg.State)
			}
			time.Sleep(200 * time.Millisecond)
			r, err := call("GET", "/v1/images/"+tif.ItemID, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			json.NewDecoder(r.Body).Decode(&timg)
			r.Body.Close()
		}
		if timg.Count.Positions != "geotiff" {
			t.Fatalf("GeoTIFF counted with positions %q, want geotiff", timg.Count.Positions)
		}
		placed = timg.Count.Count
	}
	var scan struct {
		TotalTrees  int `json:"total_trees"`
		PlacedTrees int `json:"placed_trees"`
	}
	r, err = call("GET", "/v1/scans/e2e-scan", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(r.Body).Decode(&scan)
	r.Body.Close()
	if scan.PlacedTrees != placed {
		t.Errorf("scan: %d placed trees, want the GeoTIFF's %d", scan.PlacedTrees, placed)
	}
	wantTotal := fmt.Sprint(scan.TotalTrees)

	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 1000))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	card := chromedp.CSS(fmt.Sprintf(`.card[data-item=%q] .count`, acc.ItemID))
	// Every Content-Security-Policy violation of the page is recorded (the
	// dashboard must run under its policy: no inline script or style).
	recordCSP := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.cspViolations = []; document.addEventListener("securitypolicyviolation",
				(e) => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));`})
		return chromedp.Void{}, err
	}
	err = chromedp.Do(bctx,
		recordCSP,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#saveToken")),
		chromedp.WaitVisible(card),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	count, err := chromedp.Run(bctx, chromedp.Text(card))
	if err != nil {
		t.Fatal(err)
	}
	total, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`.scan[data-scan="e2e-scan"] .total`)))
	if err != nil {
		t.Fatal(err)
	}
	status, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#status")))
	_ = chromedp.Do(bctx, chromedp.Sleep(500*time.Millisecond)) // images load
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	if count != want || total != wantTotal {
		t.Errorf("page shows count %q, scan total %q; want %s and %s (status %q)", count, total, want, wantTotal, status)
	}
	// The scan map: one circle per placed tree, a scale bar, a north arrow
	// and the trees per hectare. It is drawn after the cards, from two more
	// requests, and the registration line under it last: wait for that line.
	if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](
		`document.getElementById("mosaicStats").textContent.includes("registration")`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("scan map not drawn: %v", err)
	}
	circles, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#scanMap circle.tree").length`))
	if err != nil {
		t.Fatal(err)
	}
	north, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#scanMap #north").length`))
	stats, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#mapStats")))
	scaleText := ""
	if placed > 0 {
		scaleText, err = chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#scaleText").textContent`))
		if err != nil || !regexp.MustCompile(`^\d+ m$`).MatchString(scaleText) {
			t.Errorf("scale bar text %q (%v), want like \"10 m\"", scaleText, err)
		}
	}
	if circles != placed || (placed > 0 && (north != 1 || !strings.Contains(stats, "trees/ha"))) {
		t.Errorf("scan map: %d tree circles, north arrow %d, stats %q; want %d circles, an arrow and trees/ha", circles, north, stats, placed)
	}
	t.Logf("scan map: %d trees placed; %s; scale bar %s", circles, stats, scaleText)
	// Under it, how the scan's photos were registered (one photo: to
	// nothing, so no mosaic), or that they wait to be.
	if reg, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("mosaicStats").textContent`)); !strings.Contains(reg, "registration") {
		t.Errorf("registration line %q", reg)
	}
	mapShot, err := chromedp.Run(bctx, chromedp.Screenshot(chromedp.CSS("section:has(#scanMap)")))
	if err != nil {
		t.Fatalf("scan map screenshot: %v", err)
	}
	keepShot(t, "scan-map.png", mapShot)
	if placed > 0 { // the optional basemap: tiles from a URL template, here a local tile server
		var tiles atomic.Int32
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tiles.Add(1)
			w.Header().Set("Content-Type", "image/png")
			w.Write(crowns(t))
		}))
		defer ts.Close()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](fmt.Sprintf(`(() => { const i = document.getElementById("tileURL");
			i.value = %q; i.dispatchEvent(new Event("change")); return 1; })()`, ts.URL+"/{z}/{x}/{y}.png")))
		if err != nil || n != 1 {
			t.Fatalf("tile URL: %v", err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for tiles.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		imgs, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#scanMap #tiles image").length`))
		if tiles.Load() == 0 || imgs == 0 {
			t.Errorf("tile layer: %d tiles fetched, %d tile images on the map; want some", tiles.Load(), imgs)
		}
	}
	violations, err := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.stringify(window.cspViolations || ["not recorded"])`))
	if err != nil || violations != "[]" {
		t.Errorf("Content-Security-Policy violations: %s %v", violations, err)
	}
	keepShot(t, "dashboard.jpg", shot)
}

// keepShot writes a screenshot as name under $CANOPY_SCREENSHOT_DIR when it
// is set (docs/img/scan-map.png, the README's picture, is taken so: see
// CONTRIBUTING.md), else under the test's temporary folder.
func keepShot(t *testing.T, name string, shot []byte) {
	dir := os.Getenv("CANOPY_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(shot))
}

// crownsGeoTIFF is the crowns image as a GeoTIFF in WGS 84 degrees (0.1 m
// pixels at 52.37 N), made with GDAL's gdal_translate; nil without GDAL.
func crownsGeoTIFF(t *testing.T) []byte { return geoTIFF(t, crowns(t)) }

// geoTIFF is a 320 x 320 PNG image placed as crownsGeoTIFF places the
// crowns; nil without GDAL.
func geoTIFF(t *testing.T, image []byte) []byte {
	if _, err := exec.LookPath("gdal_translate"); err != nil {
		t.Log("no gdal_translate: the scan map stays empty")
		return nil
	}
	dir := t.TempDir()
	png, tif := filepath.Join(dir, "crowns.png"), filepath.Join(dir, "crowns.tif")
	if err := os.WriteFile(png, image, 0o644); err != nil {
		t.Fatal(err)
	}
	// 320 px of 0.1 m: 32 m east and south of 52.37 N, 4.89 E.
	e := 4.89 + 32/(111320*math.Cos(52.37*math.Pi/180))
	s := 52.37 - 32/110574.0
	out, err := exec.Command("gdal_translate", "-q", "-a_srs", "EPSG:4326", "-a_ullr", "4.89", "52.37",
		strconv.FormatFloat(e, 'f', 9, 64), strconv.FormatFloat(s, 'f', 9, 64), png, tif).CombinedOutput()
	if err != nil {
		t.Fatalf("gdal_translate: %v: %s", err, out)
	}
	b, err := os.ReadFile(tif)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
