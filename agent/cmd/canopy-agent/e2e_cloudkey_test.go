package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestE2ENoCloudKeyRefused: the built agent given a broker and no cloud
// key exits with an error that says where the key comes from, before it
// touches its state directory; with --insecure-acks it starts, and says so
// in a warning.
func TestE2ENoCloudKeyRefused(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-agent")
	dir := t.TempDir()
	src, data := filepath.Join(dir, "src"), filepath.Join(dir, "state")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) (string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		args := append([]string{"run", "--once", "--source", src, "--data", data, "--device", "e2e-key", "--segmenter", "classical",
			"--board", "x86_64", "--broker", "tcp://" + e2etest.FreeAddr(t)}, extra...)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "CANOPY_MQTT_USERNAME=", "CANOPY_MQTT_PASSWORD=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("without a cloud key: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"sync.cloud_key is required", "canopy-cloud device add", "--insecure-acks"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal %q does not mention %q", out, want)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the refused agent made its state directory: %v", err)
	}
	out, err = run("--insecure-acks")
	if err != nil {
		t.Fatalf("with --insecure-acks: %v\n%s", err, out)
	}
	if !strings.Contains(out, "INSECURE") || !strings.Contains(out, "insecure_acks=true") {
		t.Errorf("with --insecure-acks, no loud warning:\n%s", out)
	}
}
