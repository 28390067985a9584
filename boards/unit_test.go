package boards

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The systemd unit shipped in the packages keeps its promises.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("systemd/canopy-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"Type=notify", "WatchdogSec=60s", "Restart=always",
		"User=canopy", "StateDirectory=canopy", "SupplementaryGroups=video",
		"ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"ReadWritePaths=/var/lib/canopy", "DevicePolicy=closed", "DeviceAllow=char-video4linux rw",
		"ExecStart=/usr/bin/canopy-agent run --config /etc/canopy/agent.yaml",
	} {
		if !lines[want] {
			t.Errorf("unit lacks the line %q", want)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("no systemd-analyze: syntax not verified")
		return
	}
	out, _ := exec.Command("systemd-analyze", "verify", "systemd/canopy-agent.service").CombinedOutput()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// The binary is not installed on the build machine.
		if l != "" && !strings.Contains(l, "/usr/bin/canopy-agent") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}
