//go:build opencv

package main

// End-to-end tests of the built binary (make build, then CANOPY_BIN=bin):
// segment on image files and run --once on a folder and on a video file.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/canopy-forest/canopy/internal/cvimg"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

func agentBin(t *testing.T) string { return e2etest.Bin(t, "canopy-agent") }

// forestImage is half green canopy, half grey road; seed varies it.
func forestImage(w, h, seed int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(120 + (x*seed)%40), 120, 125, 255}
			if (x+seed*13)%w < w/2 {
				c = color.RGBA{uint8(20 + (x*y+seed)%30), uint8(110 + (x+y*seed)%100), 30, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestE2ESegment(t *testing.T) {
	bin := agentBin(t)
	dir, out := t.TempDir(), t.TempDir()
	good := filepath.Join(dir, "plot1.png")
	writePNG(t, good, forestImage(160, 120, 1))
	bad := filepath.Join(dir, "broken.png")
	os.WriteFile(bad, []byte("\x89PNG not really"), 0o644)
	good2 := filepath.Join(dir, "plot2.png")
	writePNG(t, good2, forestImage(64, 48, 2))

	cmd := exec.Command(bin, "segment", "--segmenter", "classical", "--out", out, good, bad, good2)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		t.Fatal("exit status 0 with an unreadable file, want non-zero")
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s\nstderr: %s", len(lines), stdout.String(), stderr.String())
	}
	for i, want := range []struct {
		file  string
		w, h  int
		error bool
	}{{good, 160, 120, false}, {bad, 0, 0, true}, {good2, 64, 48, false}} {
		var l map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &l); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, lines[i])
		}
		if l["file"] != want.file || (l["error"] != nil) != want.error {
			t.Fatalf("line %d: got %s, want file %s error=%v", i, lines[i], want.file, want.error)
		}
		if want.error {
			continue
		}
		share, _ := l["forest_share"].(float64)
		if int(l["width"].(float64)) != want.w || int(l["height"].(float64)) != want.h || share < 0.3 || share > 0.7 || l["ms"] == nil {
			t.Fatalf("line %d: got %s, want %dx%d and a forest share near 0.5", i, lines[i], want.w, want.h)
		}
		name := strings.TrimSuffix(filepath.Base(want.file), ".png") + ".mask.png"
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := png.Decode(f)
		f.Close()
		if err != nil || m.Bounds().Dx() != want.w {
			t.Fatalf("mask %s: %v, bounds %v", name, err, m.Bounds())
		}
	}
}

// runOnce runs the agent with --once and returns the item ids it logged
// and its "capture stopped" line.
func runOnce(t *testing.T, bin, source, data string) ([]string, map[string]any) {
	t.Helper()
	cmd := exec.Command(bin, "run", "--once", "--source", source, "--data", data, "--device", "e2e-1",
		"--segmenter", "classical", "--log-format", "json", "--board", "x86_64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "CANOPY_MQTT_USERNAME=", "CANOPY_MQTT_PASSWORD=")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run --once: %v\n%s", err, stderr.String())
	}
	var ids []string
	var stopped map[string]any
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // OpenCV writes plain lines too
		}
		if id, ok := l["item"].(string); ok && l["msg"] == "item" {
			ids = append(ids, id)
		}
		if l["msg"] == "capture stopped" {
			stopped = l
		}
	}
	if stopped == nil {
		t.Fatalf("no \"capture stopped\" line:\n%s", stderr.String())
	}
	return ids, stopped
}

func TestE2ERunFolder(t *testing.T) {
	bin := agentBin(t)
	src, data := t.TempDir(), t.TempDir()
	for i := 0; i < 5; i++ {
		writePNG(t, filepath.Join(src, "DJI_000"+string(rune('1'+i))+".png"), forestImage(128, 96, i+1))
	}
	writePNG(t, filepath.Join(src, "DJI_0009.png"), image.NewRGBA(image.Rect(0, 0, 128, 96))) // black: no forest
	ids, stopped := runOnce(t, bin, src, data)
	if len(ids) != 5 || stopped["frames_read"].(float64) != 6 || stopped["items_put"].(float64) != 5 {
		t.Fatalf("got %d items, stopped line %v; want 5 items of 6 frames", len(ids), stopped)
	}
	// Items land in the state directory: as folders (the folder sink) or
	// in the outbox once sync is wired in.
	if ents, err := os.ReadDir(filepath.Join(data, "items")); err == nil {
		n := 0
		for _, e := range ents {
			if e.IsDir() {
				n++
			}
		}
		if n != 5 {
			t.Fatalf("items folder: got %d items, want 5", n)
		}
	}
	// A restart takes nothing twice. (It may read the skipped last photo
	// again when the sink records positions only with items.)
	ids2, stopped2 := runOnce(t, bin, src, data)
	if len(ids2) != 0 || stopped2["frames_read"].(float64) > 1 {
		t.Fatalf("second run: got %d items from %v frames, want none", len(ids2), stopped2["frames_read"])
	}
}

func TestE2ERunVideo(t *testing.T) {
	bin := agentBin(t)
	dir, data := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "flight.avi")
	vw, err := gocv.VideoWriterFile(path, "MJPG", 10, 128, 96, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		m, _ := cvimg.FromRGBA(forestImage(128, 96, i%4+1))
		vw.Write(m)
		m.Close()
	}
	vw.Close()
	ids, stopped := runOnce(t, bin, path, data)
	if stopped["frames_read"].(float64) != 12 || len(ids) == 0 {
		t.Fatalf("got %d items, stopped line %v; want 12 frames read and some items", len(ids), stopped)
	}
}
