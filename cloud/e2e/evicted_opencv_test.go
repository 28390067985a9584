//go:build opencv

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestFullOutboxThenEvictedItemsArrive: an agent with a tiny outbox bound
// runs offline over more frames than fit: it evicts the oldest images,
// then refuses new items, and keeps running to the end of its source
// (exit 0), counting the refusals. Connected later, it sends what it kept:
// the cloud stores the evicted ones as rows in state image_evicted (their
// metadata and masks), and every other one whole.
func TestFullOutboxThenEvictedItemsArrive(t *testing.T) {
	bin := binDir(t)
	src := frames(t, 40)
	data := t.TempDir()
	cfg := agentConfig(t, "canopy")
	b, _ := os.ReadFile(cfg)
	// A few whole items fit (each a ~20 KB JPEG and a mask), and about twenty without their images.
	if err := os.WriteFile(cfg, append(b, []byte("outbox:\n  max_bytes: 60000\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	offline := start(t, nil, filepath.Join(bin, "canopy-agent"), "run", "--once", "--config", cfg,
		"--source", src, "--data", data, "--device", "tiny", "--segmenter", "classical")
	if err := wait(t, offline, 60*time.Second); err != nil {
		t.Fatalf("offline run: %v, want exit 0 (a full outbox is back-pressure)\n%s", err, tail(offline.log.String(), 3000))
	}
	if !strings.Contains(offline.log.String(), "outbox full") {
		t.Errorf("offline run did not log that the outbox was full:\n%s", tail(offline.log.String(), 2000))
	}
	st := outboxStats(t, bin, data)
	if st.Evictions < 1 || st.Refused < 1 || st.Depth < 1 {
		t.Fatalf("outbox after the offline run: %+v, want evictions, refusals and items waiting", st)
	}
	t.Logf("offline: %d items waiting, %d images evicted, %d items refused", st.Depth, st.Evictions, st.Refused)

	httpAddr, mqttAddr, cloudData := e2etest.FreeAddr(t), e2etest.FreeAddr(t), t.TempDir()
	cred := register(t, bin, "tiny", "--data", cloudData)
	cloud := start(t, nil, filepath.Join(bin, "canopy-cloud"), "serve", "--data", cloudData, "--http", httpAddr, "--mqtt-listen", mqttAddr, "--auth=off", "--workers", "0")
	waitReady(t, httpAddr, cloud)
	online := start(t, cred.env(), filepath.Join(bin, "canopy-agent"), "run", "--once", "--config", cfg,
		"--source", t.TempDir(), "--data", data, "--broker", "tcp://"+mqttAddr, "--device", "tiny", "--segmenter", "classical",
		"--cloud-key", cred.CloudKey)
	if err := wait(t, online, 60*time.Second); err != nil {
		t.Fatalf("online run: %v\n%s", err, tail(online.log.String(), 3000))
	}
	states := imageStates(t, httpAddr, "tiny")
	evicted := 0
	for _, s := range states {
		if s == "image_evicted" {
			evicted++
		}
	}
	if len(states) != st.Depth || evicted != int(st.Evictions) {
		t.Errorf("cloud rows: %d (%d evicted), want %d (%d evicted): %v", len(states), evicted, st.Depth, st.Evictions, states)
	}
	if after := outboxStats(t, bin, data); after.Depth != 0 {
		t.Errorf("outbox after the online run: %+v, want drained", after)
	}
	// The device's status reached the cloud: its refusals and evictions.
	resp, err := http.Get("http://" + httpAddr + "/v1/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var devs struct {
		Devices []struct {
			ID        string `json:"id"`
			Evictions int64  `json:"evictions"`
			Refused   int64  `json:"refused"`
		} `json:"devices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&devs); err != nil {
		t.Fatal(err)
	}
	if len(devs.Devices) != 1 || devs.Devices[0].Refused != st.Refused || devs.Devices[0].Evictions != st.Evictions {
		t.Errorf("devices: %+v, want tiny with %d refused and %d evicted", devs.Devices, st.Refused, st.Evictions)
	}
}

type outboxStatsJSON struct {
	Depth     int   `json:"depth"`
	Evictions int64 `json:"evictions"`
	Refused   int64 `json:"refused"`
}

func outboxStats(t *testing.T, bin, data string) outboxStatsJSON {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "canopy-agent"), "outbox", "stats", "--data", data, "--json").Output()
	if err != nil {
		t.Fatalf("outbox stats: %v", err)
	}
	var st outboxStatsJSON
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("outbox stats %q: %v", out, err)
	}
	return st
}

// imageStates are the states of device's images, through the HTTP API.
func imageStates(t *testing.T, httpAddr, device string) []string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s/v1/images?limit=500&device=%s", httpAddr, device))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Images []struct {
			State string `json:"state"`
		} `json:"images"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range body.Images {
		out = append(out, i.State)
	}
	return out
}
