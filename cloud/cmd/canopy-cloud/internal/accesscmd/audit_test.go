package accesscmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	agentconfig "github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/cmdtest"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/datacmd"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/internal/cli/clitest"
)

// auditEntries reads the trail with canopy-cloud audit --json.
func auditEntries(t *testing.T, data string, extra ...string) []db.AuditEntry {
	t.Helper()
	out := clitest.CaptureStdout(t, func() error { return cmdAudit(append([]string{"--json", "--data", data}, extra...)) })
	var es []db.AuditEntry
	if err := json.Unmarshal([]byte(out), &es); err != nil {
		t.Fatalf("audit --json printed %q: %v", out, err)
	}
	return es
}

// TestAuditEachChangeOnce: device add, device revoke, token create, token
// revoke, export, recount and purge each leave exactly one entry, naming the command-line
// user; what changes nothing (revoking a revoked token, a refused add)
// leaves none. (Uploads: cloud/api's TestAuditTrail.)
func TestAuditEachChangeOnce(t *testing.T) {
	data := t.TempDir()
	tokens := tokenCLI{t: t, db: []string{"--data", data}}
	var secret string
	steps := []struct {
		action, subject string
		do              func() error
	}{
		{db.AuditDeviceAdd, "pi-1", func() error {
			clitest.CaptureStdout(t, func() error { return Device.Exec([]string{"add", "pi-1", "--data", data}) })
			return nil
		}},
		{db.AuditTokenCreate, "", func() error { secret = tokens.create("--scope", "metrics", "--name", "prom"); return nil }},
		{db.AuditTokenRevoke, "", func() error { _, _, err := tokens.run("revoke", "prom"); return err }},
		{db.AuditDeviceRevoke, "pi-1", func() error { return Device.Exec([]string{"revoke", "pi-1", "--data", data}) }},
		{db.AuditExport, "scan-a", func() error {
			d, err := site.OpenDatabase(t.Context(), cmdtest.Config(data))
			if err != nil {
				return err
			}
			_, err = d.PutImage(t.Context(), db.Image{ItemID: "01HAAAAAAAAAAAAAAAAAAAAAAA", Device: "pi-1", ScanID: "scan-a",
				CapturedAt: time.Now(), RawKey: "pi-1/x/image.jpg"})
			d.Close()
			if err != nil {
				return err
			}
			return datacmd.Export.Run([]string{"--scan", "scan-a", "--format", "csv", "--out", filepath.Join(t.TempDir(), "t.csv"), "--data", data})
		}},
		{db.AuditRecount, "scan-a", func() error {
			clitest.CaptureStdout(t, func() error {
				return datacmd.Recount.Run([]string{"--scan", "scan-a", "--method", "classical", "--data", data})
			})
			return nil
		}},
		{db.AuditDevicePurge, "pi-1", func() error {
			clitest.CaptureStdout(t, func() error {
				return Device.Exec([]string{"purge", "pi-1", "--yes-delete-everything", "--data", data})
			})
			return nil
		}},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
		es := auditEntries(t, data)
		if len(es) != i+1 {
			t.Fatalf("after %s: %d entries, want %d: %+v", s.action, len(es), i+1, es)
		}
		e := es[i]
		if s.subject == "" {
			s.subject = id(secret)
		}
		if e.Action != s.action || e.Subject != s.subject || !strings.HasPrefix(e.Who, "cli:") {
			t.Errorf("entry %+v, want %s of %s by cli:...", e, s.action, s.subject)
		}
	}
	// No change, no entry.
	tokens.run("revoke", "prom")
	if err := Device.Exec([]string{"add", "../pi", "--data", data}); err == nil {
		t.Error("device add ../pi was taken")
	}
	if es := auditEntries(t, data); len(es) != len(steps) {
		t.Errorf("no-op commands left entries: %+v", es[len(steps):])
	}
	if es := auditEntries(t, data, "--since", time.Now().Add(time.Hour).Format(time.RFC3339)); len(es) != 0 {
		t.Errorf("audit --since an hour ahead: %d entries", len(es))
	}
	if err := cmdAudit([]string{"--since", "last week", "--data", data}); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("audit --since garbage: %v", err)
	}
	table := clitest.CaptureStdout(t, func() error { return cmdAudit([]string{"--data", data}) })
	if !strings.Contains(table, "device.add") || !strings.Contains(table, "scan.export") {
		t.Errorf("audit table:\n%s", table)
	}
}

// TestDeviceAddOut: --out writes the board's files, the password with mode
// 0600, and a fragment that the agent loads after its packaged config as
// it is: device, broker, username, password, cloud key, CA.
func TestDeviceAddOut(t *testing.T) {
	data, out, board := t.TempDir(), filepath.Join(t.TempDir(), "board"), t.TempDir()
	ca := filepath.Join(t.TempDir(), "broker-ca.pem")
	cmdtest.WriteCA(t, ca)
	stdout := clitest.CaptureStdout(t, func() error {
		return Device.Exec([]string{"add", "pi-5", "--cert", "--out", out, "--broker", "ssl://mq.example.org:8883", "--mqtt-ca", ca,
			"--board-dir", board, "--data", data})
	})
	var added DeviceAdded
	if err := json.Unmarshal([]byte(stdout), &added); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"pi-5.password": 0o600, "pi-5.key": 0o600, "pi-5.crt": 0o644,
		"cloud.key": 0o644, "mqtt-ca.crt": 0o644, "agent.d/pi-5.yaml": 0o644} {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v; want %v", name, err, fi.Mode().Perm(), mode)
		}
	}
	// The board: its packaged agent.yaml (broker placeholder, no key) is
	// refused; with what --out wrote copied beside it, it loads.
	packaged := filepath.Join(board, "agent.yaml")
	if err := os.WriteFile(packaged, []byte("data: /var/lib/canopy\nsync:\n  broker: ssl://canopy-broker.invalid:8883\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := agentconfig.Load(agentconfig.Sources{Path: packaged, Board: "x86_64", Getenv: func(string) string { return "" }}); err == nil {
		t.Fatal("the packaged config alone was accepted; want the refusal without a cloud key")
	}
	if err := os.CopyFS(board, os.DirFS(out)); err != nil {
		t.Fatal(err)
	}
	c, _, err := agentconfig.Load(agentconfig.Sources{Path: packaged, Board: "x86_64", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("the agent does not load the fragment: %v", err)
	}
	s := c.Sync
	if c.Device != "pi-5" || s.Broker != "ssl://mq.example.org:8883" || s.Username != "pi-5" || s.Password != added.Password ||
		s.CloudKey != added.CloudKey || s.CAFile != filepath.Join(board, "mqtt-ca.crt") || s.CertFile != filepath.Join(board, "pi-5.crt") {
		t.Errorf("agent config from the fragment: device %q, sync %+v", c.Device, s)
	}
	for _, bad := range [][]string{
		{"add", "pi-6", "--broker", "ssl://mq:8883", "--data", data},
		{"add", "pi-6", "--out", out, "--broker", "mq.example.org:8883", "--data", data},
		{"add", "pi-6", "--out", out, "--mqtt-ca", filepath.Join(out, "cloud.key"), "--data", data},
		{"add", "pi-6", "--out", out, "--board-dir", "etc/canopy", "--data", data},
	} {
		if err := Device.Exec(bad); err == nil {
			t.Errorf("device %q: no error", bad)
		}
	}
	if strings.Contains(clitest.CaptureStdout(t, func() error { return Device.Exec([]string{"list", "--data", data}) }), "pi-6") {
		t.Error("a refused device add registered pi-6")
	}
}
