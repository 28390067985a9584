package rolloutcmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/cmdtest"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/db"
)

// TestRolloutCommands runs rollout create, status, pause, resume, list and
// abort on a data folder (no serve running: the rollout stays at wave 0).
func TestRolloutCommands(t *testing.T) {
	data := t.TempDir()
	model := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(model, bytes.Repeat([]byte("model"), 50_000), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) map[string]any {
		t.Helper()
		var out bytes.Buffer
		if err := runRollout(append(args, "--data", data), &out); err != nil {
			t.Fatalf("rollout %s: %v", strings.Join(args, " "), err)
		}
		var v map[string]any
		if err := json.Unmarshal(out.Bytes(), &v); err != nil {
			t.Fatalf("rollout %s printed %q: %v", args[0], out.String(), err)
		}
		return v
	}
	v := run("create", "--model", model, "--devices", "pi-1,pi-2,pi-3", "--config", `{"capture":{"fps":2}}`, "--waves", "2", "--canary", "0.34", "--id", "r-test")
	if v["rollout"] != "r-test" || v["state"] != "running" || v["model_sha256"] == "" || len(v["devices"].([]any)) != 3 {
		t.Fatalf("create printed %v", v)
	}
	if v := run("pause", "r-test"); v["state"] != "paused" {
		t.Errorf("pause: %v", v["state"])
	}
	if v := run("resume", "r-test"); v["state"] != "running" {
		t.Errorf("resume: %v", v["state"])
	}
	if v := run("status", "r-test"); v["counts"].(map[string]any)["pending"] != 3.0 {
		t.Errorf("status: %v", v["counts"])
	}
	if v := run("list"); len(v["rollouts"].([]any)) != 1 {
		t.Errorf("list: %v", v)
	}
	if v := run("abort", "r-test"); v["state"] != "aborted" || v["counts"].(map[string]any)["withdrawn"] != 3.0 {
		t.Errorf("abort: %v %v", v["state"], v["counts"])
	}
	// create, pause, resume and abort: one audit entry each, by the CLI user.
	var actions []string
	d, err := site.OpenDatabase(t.Context(), cmdtest.Config(data))
	if err != nil {
		t.Fatal(err)
	}
	trail, err := d.ListAudit(t.Context(), db.AuditQuery{Limit: 100})
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range trail {
		if e.Subject != "r-test" || !strings.HasPrefix(e.Who, "cli:") {
			t.Errorf("audit entry %+v", e)
		}
		actions = append(actions, e.Action)
	}
	if want := []string{db.AuditRolloutCreate, db.AuditRolloutPause, db.AuditRolloutResume, db.AuditRolloutAbort}; !slices.Equal(actions, want) {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
	var table bytes.Buffer
	if err := runRollout([]string{"status", "r-test", "--table", "--data", data}, &table); err != nil || !strings.Contains(table.String(), "pi-2") {
		t.Errorf("status --table: %v\n%s", err, table.String())
	}
	for _, bad := range [][]string{
		{"create", "--devices", "pi-1"},                       // nothing to roll out
		{"create", "--model", model},                          // no devices
		{"create", "--model", "/nope.onnx", "--devices", "a"}, // no such file
		{"resume", "r-test"},                                  // aborted
		{"status", "r-none"},                                  // unknown
		{"status"},                                            // no id
		{"frobnicate"},
	} {
		if err := runRollout(append(bad, "--data", data), &bytes.Buffer{}); err == nil {
			t.Errorf("rollout %v: no error", bad)
		}
	}
}
