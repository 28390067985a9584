package accesscmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/internal/cli/clitest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// TestDeviceCommands: device add prints the credentials once (and writes
// them with --out), list shows the identity, a second add of the same id
// fails, and revoke revokes the device and the HTTP tokens bound to it.
func TestDeviceCommands(t *testing.T) {
	data := t.TempDir()
	out := filepath.Join(t.TempDir(), "creds")
	stdout := clitest.CaptureStdout(t, func() error {
		return Device.Exec([]string{"add", "pi-9", "--cert", "--out", out, "--data", data})
	})
	var got DeviceAdded
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("device add printed %q: %v", stdout, err)
	}
	if got.Device != "pi-9" || got.Username != "pi-9" || len(got.Password) < 24 || got.Cert == "" || got.Key == "" || got.CA == "" {
		t.Errorf("device add: %+v", got)
	}
	if _, err := wire.ParseCloudKey(got.CloudKey); err != nil {
		t.Errorf("cloud_key %q: %v", got.CloudKey, err)
	}
	for _, f := range []string{"pi-9.password", "cloud.key", "pi-9.crt", "pi-9.key", "ca.crt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("--out: %v", err)
		}
	}
	if err := Device.Exec([]string{"add", "pi-9", "--data", data}); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second add: %v, want already registered", err)
	}
	if err := Device.Exec([]string{"add", "../x", "--data", data}); err == nil {
		t.Error("a hostile device id was registered")
	}
	c := tokenCLI{t: t, db: []string{"--data", data}}
	secret := c.create("--scope", "write", "--device", "pi-9", "--name", "pi-9-http")
	list := clitest.CaptureStdout(t, func() error { return Device.Exec([]string{"list", "--json", "--data", data}) })
	if !strings.Contains(list, `"username":"pi-9"`) || strings.Contains(list, got.Password) {
		t.Errorf("device list --json: %s", list)
	}
	if err := Device.Exec([]string{"revoke", "pi-9", "--data", data}); err != nil {
		t.Fatal(err)
	}
	if v := byID(c.list(), id(secret)); v.State != "revoked" {
		t.Errorf("the device's HTTP token after device revoke: %+v, want revoked", v)
	}
	if err := Device.Exec([]string{"revoke", "nope", "--data", data}); err == nil {
		t.Error("revoking an unknown device: no error")
	}
}
