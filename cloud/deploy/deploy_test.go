package deploy

import (
	"testing"

	"github.com/canopy-forest/canopy/internal/systemdtest"
)

// The systemd unit shipped in the .deb keeps its promises. The installed
// unit is verified again, with its binary, by scripts/test.d/package.sh.
func TestSystemdUnit(t *testing.T) {
	systemdtest.Check(t, "canopy-cloud.service", []string{
		"Type=notify", "NotifyAccess=main", "Restart=always",
		"User=canopy-cloud", "Group=canopy-cloud", "StateDirectory=canopy-cloud", "WorkingDirectory=/var/lib/canopy-cloud",
		"ExecStart=/usr/bin/canopy-cloud serve --config /etc/canopy/cloud.yaml",
		"Environment=CANOPY_ORT_LIB=/usr/lib/canopy-cloud/libonnxruntime.so.1",
		"EnvironmentFile=-/etc/canopy/cloud.env",
		"ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes",
		"ReadWritePaths=/var/lib/canopy-cloud", "CapabilityBoundingSet=", "SystemCallFilter=@system-service",
	}, "/usr/bin/canopy-cloud")
}
