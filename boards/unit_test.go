package boards

import (
	"testing"

	"github.com/canopy-forest/canopy/internal/systemdtest"
)

// The systemd unit shipped in the packages keeps its promises.
func TestSystemdUnit(t *testing.T) {
	systemdtest.Check(t, "systemd/canopy-agent.service", []string{
		"Type=notify", "WatchdogSec=60s", "Restart=always",
		"User=canopy", "StateDirectory=canopy", "SupplementaryGroups=video",
		"ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"ReadWritePaths=/var/lib/canopy", "DevicePolicy=closed", "DeviceAllow=char-video4linux rw",
		"ExecStart=/usr/bin/canopy-agent run --config /etc/canopy/agent.yaml",
	}, "/usr/bin/canopy-agent")
}
