package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestE2EMetrics runs the built agent on a followed folder with
// --metrics-listen and reads its metrics while it waits for more photos.
func TestE2EMetrics(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-agent")
	src, data := t.TempDir(), t.TempDir()
	for i := 0; i < 4; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 96, 64))
		for p := 0; p < len(img.Pix); p += 4 {
			c := color.RGBA{uint8(30 + 10*i), 140, 40, 255} // canopy green
			if (p/4)%96 < 24 {
				c = color.RGBA{130, 130, 130, 255}
			}
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = c.R, c.G, c.B, c.A
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, "IMG_000"+string(rune('1'+i))+".jpg"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(data, "agent.yaml")
	if err := os.WriteFile(cfg, []byte("capture: {follow: 1s}\nselect: {min_interval: 0s, duplicates: keep}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := e2etest.FreeAddr(t)
	cmd := exec.Command(bin, "run", "--config", cfg, "--source", src, "--data", filepath.Join(data, "state"), "--device", "e2e-metrics",
		"--segmenter", "classical", "--board", "x86_64", "--metrics-listen", addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "CANOPY_MQTT_USERNAME=", "CANOPY_MQTT_PASSWORD=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("agent exit: %v\n%s", err, stderr.String())
		}
	}()
	var out string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = string(b)
			if strings.Contains(out, "canopy_agent_items_put_total 4\n") {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		"canopy_agent_frames_read_total 4",
		"canopy_agent_frames_kept_total 4",
		"canopy_agent_items_put_total 4",
		"canopy_agent_outbox_items 4",
		"canopy_agent_outbox_refused_total 0",
		"canopy_agent_outbox_seconds_until_full",
		"canopy_agent_outbox_max_bytes",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the metrics:\n%s\nagent log:\n%s", want, out, stderr.String())
		}
	}
	if strings.Contains(out, "canopy_agent_items_acked_total") {
		t.Error("publisher metrics without a broker")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", resp, err)
	}
}
