package deploy

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The systemd unit shipped in the .deb keeps its promises.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("canopy-cloud.service")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"Type=notify", "NotifyAccess=main", "Restart=always",
		"User=canopy-cloud", "Group=canopy-cloud", "StateDirectory=canopy-cloud", "WorkingDirectory=/var/lib/canopy-cloud",
		"ExecStart=/usr/bin/canopy-cloud serve --config /etc/canopy/cloud.yaml",
		"Environment=CANOPY_ORT_LIB=/usr/lib/canopy-cloud/libonnxruntime.so.1",
		"EnvironmentFile=-/etc/canopy/cloud.env",
		"ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes",
		"ReadWritePaths=/var/lib/canopy-cloud", "CapabilityBoundingSet=", "SystemCallFilter=@system-service",
	} {
		if !lines[want] {
			t.Errorf("unit lacks the line %q", want)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("no systemd-analyze: syntax not verified (scripts/test.d/package.sh verifies the installed unit)")
		return
	}
	out, _ := exec.Command("systemd-analyze", "verify", "canopy-cloud.service").CombinedOutput()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// The binary is not installed on the build machine.
		if l != "" && !strings.Contains(l, "/usr/bin/canopy-cloud") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}
