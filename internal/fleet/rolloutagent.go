package fleet

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

// startAgent starts the real canopy-agent (again, with the same data).
func (r *rolloutRun) startAgent() error {
	dir := filepath.Join(r.c.Dir, "agent")
	src := filepath.Join(dir, "src")
	if err := writeFrames(src, 3); err != nil {
		return err
	}
	lib := ""
	if r.c.AgentLib != "" {
		lib = fmt.Sprintf(", library: %q", r.c.AgentLib)
	}
	conf := fmt.Sprintf(`device: %s
data: %s
log: {level: info}
capture: {source: %q, follow: 1s}
segmenter: {kind: classical%s}
select: {min_share: 0, min_interval: 0s, duplicates: keep}
sync: {broker: %q, topic_root: %q, cloud_key: %q, ack_timeout: 10s}
desired: {health_window: 30s, max_rate: %d}
`, r.agentID, filepath.Join(dir, "data"), src, lib, r.agentBroker, r.root, r.cloudKey, r.c.AgentMaxRate)
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	var env []string
	if r.pass != "" {
		env = []string{"CANOPY_MQTT_USERNAME=" + r.agentID, "CANOPY_MQTT_PASSWORD=" + r.pass}
	}
	if r.agent == nil {
		r.agent = &proc{name: "canopy-agent", args: []string{r.c.AgentBin, "run", "--config", path}, env: env, log: filepath.Join(r.c.Dir, "agent.log")}
	}
	return r.agent.start()
}

// killMidDownload SIGKILLs the real agent once it has staged part of the
// model, and starts it again; it returns the bytes staged then.
func (r *rolloutRun) killMidDownload(ctx context.Context) (int64, error) {
	for {
		var v struct {
			Reported db.Reported `json:"reported"`
		}
		if err := r.getJSON(ctx, "/v1/devices/"+r.agentID, &v); err != nil {
			return 0, err
		}
		if p := v.Reported; p.State == wire.ReportDownloading && p.FetchedBytes > 0 && p.FetchedBytes < p.FetchSize {
			r.agent.kill(syscall.SIGKILL)
			r.logf("%s SIGKILLed with %d of %d bytes staged", r.agentID, p.FetchedBytes, p.FetchSize)
			time.Sleep(500 * time.Millisecond)
			return p.FetchedBytes, r.startAgent()
		}
		if p := v.Reported; p.Version > 0 || p.FailedVersion > 0 {
			return 0, fmt.Errorf("%s finished its download before it could be killed (raise the model's size or lower the agent's max rate)", r.agentID)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sampleFetchRSS returns the most resident memory of the real agent seen
// while it reported downloading, until stop.
func (r *rolloutRun) sampleFetchRSS(ctx context.Context, stop <-chan struct{}) int64 {
	var peak int64
	for {
		var v struct {
			Reported db.Reported `json:"reported"`
		}
		if err := r.getJSON(ctx, "/v1/devices/"+r.agentID, &v); err == nil && v.Reported.State == wire.ReportDownloading {
			peak = max(peak, procStatus(r.agent, "VmRSS:"))
		}
		select {
		case <-stop:
			return peak
		case <-ctx.Done():
			return peak
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// peakRSS is p's peak resident memory (VmHWM) in bytes; 0 when unknown.
func peakRSS(p *proc) int64 { return procStatus(p, "VmHWM:") }

// procStatus reads a memory figure of p's /proc/PID/status ("VmRSS:") in
// bytes; 0 when unknown.
func procStatus(p *proc, field string) int64 {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// writeFrames writes n synthetic frames (green crowns on soil) into dir.
func writeFrames(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 320, 240))
		for y := range 240 {
			for x := range 320 {
				c := color.RGBA{150, 120, 90, 255}
				if (x/(16+i%7)+y/(20+i%5)+i)%3 == 0 {
					c = color.RGBA{30, uint8(100 + (x*y+i*37)%80), 40, 255}
				}
				img.SetRGBA(x, y, c)
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("frame_%03d.png", i)))
		if err != nil {
			return err
		}
		err = png.Encode(f, img)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// PadONNX writes to dst the ONNX model src with an unknown field of padding
// added (readers of ONNX skip it), so that dst is size bytes: a model as
// good as src, of another size and SHA-256.
func PadONNX(src, dst string, size int64) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	n := size - int64(len(b)) - 2 - 10
	if n < 1 {
		return fmt.Errorf("pad %s to %d bytes: it has %d already", src, size, len(b))
	}
	b = binary.AppendUvarint(b, 100<<3|2) // field 100, length-delimited
	b = binary.AppendUvarint(b, uint64(n))
	pad := make([]byte, n)
	if _, err := rand.Read(pad); err != nil {
		return err
	}
	return os.WriteFile(dst, append(b, pad...), 0o644)
}
