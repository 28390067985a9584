package rollout

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/sync/wire"
)

func TestAssignWaves(t *testing.T) {
	devs := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("d%02d", i))
		}
		return out
	}
	for _, tc := range []struct {
		n, waves int
		canary   float64
		want     []int // devices per wave
	}{
		{21, 2, 0.5, []int{11, 10}},
		{10, 2, 0.1, []int{1, 9}},
		{10, 3, 0.1, []int{1, 5, 4}},
		{3, 5, 0.1, []int{1, 1, 1}},
		{1, 2, 0.1, []int{1}},
		{4, 1, 0.1, []int{4}},
		{100, 4, 0.05, []int{5, 32, 32, 31}},
	} {
		got := map[int]int{}
		last := 0
		for _, t2 := range assignWaves(devs(tc.n), tc.waves, tc.canary) {
			got[t2.Wave]++
			if t2.Wave < last {
				t.Errorf("%+v: waves not in order", tc)
			}
			last = t2.Wave
		}
		var per []int
		for w := 1; w <= tc.waves; w++ {
			if got[w] > 0 {
				per = append(per, got[w])
			}
		}
		if !reflect.DeepEqual(per, tc.want) {
			t.Errorf("%d devices, %d waves, canary %v: %v, want %v", tc.n, tc.waves, tc.canary, per, tc.want)
		}
	}
}

func TestMergeJSON(t *testing.T) {
	got, err := mergeJSON(json.RawMessage(`{"select":{"min_share":0.1,"duplicates":"skip"},"capture":{"fps":2}}`),
		json.RawMessage(`{"select":{"min_share":0.3},"encode":{"jpeg_quality":70}}`))
	want := `{"capture":{"fps":2},"encode":{"jpeg_quality":70},"select":{"duplicates":"skip","min_share":0.3}}`
	if err != nil || string(got) != want {
		t.Errorf("mergeJSON = %s, %v; want %s", got, err, want)
	}
	if got, _ := mergeJSON(nil, json.RawMessage(`{"a":1}`)); string(got) != `{"a":1}` {
		t.Errorf("merge into nothing: %s", got)
	}
}

type env struct {
	t     *testing.T
	s     *Service
	pub   ed25519.PublicKey
	model []byte
	path  string
}

func newEnv(t *testing.T, d *db.DB) *env {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	model := make([]byte, 50_000)
	_, _ = rand.Read(model)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: &Service{DB: d, Key: key}, pub: pub, model: model, path: path}
}

func (e *env) step() {
	e.t.Helper()
	if err := e.s.Step(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) status(id string) Status {
	e.t.Helper()
	st, err := e.s.Status(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// report records what dev reports, as its status would.
func (e *env) report(dev string, version, failed int64, why string) {
	e.t.Helper()
	r := db.Reported{Device: dev, Version: version, State: wire.ReportApplied, FailedVersion: failed, LastError: why}
	if failed > version {
		r.State = wire.ReportRolledBack
	}
	if err := e.s.DB.UpdateReported(context.Background(), r); err != nil {
		e.t.Fatal(err)
	}
}

// desired opens dev's current desired document as the device would.
func (e *env) desired(dev string) wire.Desired {
	e.t.Helper()
	x, err := e.s.DB.GetDesired(context.Background(), dev)
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := wire.OpenDesired([]byte(x.Payload), e.pub, dev)
	if err != nil {
		e.t.Fatalf("desired document of %s: %v", dev, err)
	}
	return d
}

func states(st Status) string {
	var b strings.Builder
	for _, t := range st.Targets {
		fmt.Fprintf(&b, "%s:%s ", t.Device, t.State)
	}
	return strings.TrimSpace(b.String())
}

func TestRolloutWaves(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, dbtest.SQLite(t))
	st, err := e.s.Create(ctx, Spec{ID: "r1", ModelPath: e.path, Config: json.RawMessage(`{"capture":{"fps":2}}`),
		Devices: []string{"a", "b", "c", "d"}, Waves: 2, Canary: 0.25, ChunkSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != "r1" || st.State != db.RolloutRunning || st.Counts[db.TargetPending] != 4 {
		t.Fatalf("created %+v", st)
	}
	e.step()
	if got := states(e.status("r1")); got != "a:sent b:pending c:pending d:pending" {
		t.Fatalf("after the first step: %s", got)
	}
	d := e.desired("a")
	if d.Version != 1 || d.Model == nil || d.Model.Size != int64(len(e.model)) || d.Model.ChunkSize != 16<<10 || d.Rollout != "r1" ||
		string(d.Config) != `{"capture":{"fps":2}}` {
		t.Errorf("a's document: %+v", d)
	}
	e.step() // nothing answered: wave 2 waits
	if got := states(e.status("r1")); got != "a:sent b:pending c:pending d:pending" {
		t.Fatalf("wave 1 not answered: %s", got)
	}
	e.report("a", 1, 0, "")
	e.step()
	if got := states(e.status("r1")); got != "a:applied b:sent c:sent d:sent" {
		t.Fatalf("after a applied: %s", got)
	}
	for _, dev := range []string{"b", "c", "d"} {
		e.report(dev, 1, 0, "")
	}
	e.step()
	if st := e.status("r1"); st.State != db.RolloutDone || st.Wave != 2 {
		t.Errorf("after all applied: %s %+v", st.State, st.Counts)
	}
	// The next rollout builds on each device's document: the model stays,
	// the config is merged.
	if _, err := e.s.Create(ctx, Spec{ID: "r2", Config: json.RawMessage(`{"select":{"min_share":0.2}}`), Devices: []string{"a"}, Waves: 1}); err != nil {
		t.Fatal(err)
	}
	e.step()
	d2 := e.desired("a")
	if d2.Version != 2 || d2.Model == nil || d2.Model.SHA256 != d.Model.SHA256 || string(d2.Config) != `{"capture":{"fps":2},"select":{"min_share":0.2}}` {
		t.Errorf("a's second document: %+v %s", d2, d2.Config)
	}
}

// TestRolloutHalts: more than the threshold fail: when the wave has
// answered (here: timed out) the rollout halts, the devices of the wave
// that failed or did not answer get their documents back, the next wave is
// never sent.
func TestRolloutHalts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, dbtest.SQLite(t))
	if _, err := e.s.Create(ctx, Spec{ID: "good", ModelPath: e.path, Devices: []string{"a", "b", "c", "d", "e"}, Waves: 1}); err != nil {
		t.Fatal(err)
	}
	e.step()
	for _, dev := range []string{"a", "b", "c", "d", "e"} {
		e.report(dev, 1, 0, "")
	}
	e.step()
	good := e.desired("a").Model.SHA256
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	_ = os.WriteFile(bad, []byte("not a model"), 0o644)
	if _, err := e.s.Create(ctx, Spec{ID: "bad", ModelPath: bad, Devices: []string{"a", "b", "c", "d", "e"}, Waves: 2, Canary: 0.4,
		HaltThreshold: 0.2, WaveTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	e.step()
	if got := states(e.status("bad")); got != "a:sent b:sent c:pending d:pending e:pending" {
		t.Fatalf("canary: %s", got)
	}
	e.report("a", 1, 2, "version 2 failed its check: not an ONNX model")
	e.step()
	if st := e.status("bad"); st.State != db.RolloutRunning {
		t.Fatalf("halted before the wave answered: %s", st.Reason)
	}
	time.Sleep(1100 * time.Millisecond) // b stays silent past the wave timeout
	e.step()
	st := e.status("bad")
	if st.State != db.RolloutHalted || !strings.Contains(st.Reason, "1 of the 2 devices sent failed") {
		t.Fatalf("after a failed: %s (%s)", st.State, st.Reason)
	}
	if got := states(st); got != "a:failed b:withdrawn c:pending d:pending e:pending" {
		t.Errorf("halted: %s", got)
	}
	if st.Targets[0].Detail != "version 2 failed its check: not an ONNX model" {
		t.Errorf("a's detail: %q", st.Targets[0].Detail)
	}
	for _, dev := range []string{"a", "b"} {
		if d := e.desired(dev); d.Version != 3 || d.Model == nil || d.Model.SHA256 != good {
			t.Errorf("%s after the halt: version %d model %+v, want version 3 with the good model back", dev, d.Version, d.Model)
		}
	}
	if d := e.desired("c"); d.Version != 1 {
		t.Errorf("c got version %d of a halted rollout", d.Version)
	}
	e.step()
	if st := e.status("bad"); st.Wave != 1 {
		t.Errorf("a halted rollout went on to wave %d", st.Wave)
	}
	if err := e.s.Resume(ctx, "bad"); err == nil {
		t.Error("a halted rollout was resumed")
	}
	if err := e.s.Abort(ctx, "bad"); err != nil {
		t.Fatal(err)
	}
	if got := states(e.status("bad")); got != "a:failed b:withdrawn c:withdrawn d:withdrawn e:withdrawn" {
		t.Errorf("aborted: %s", got)
	}
}

func TestRolloutPauseTimeoutRevoked(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t)
	e := newEnv(t, d)
	if err := d.AddCredential(ctx, db.Credential{Username: "gone", Role: db.RoleDevice, PasswordHash: "$7$x"}); err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeCredential(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := d.AddCredential(ctx, db.Credential{Username: "later", Role: db.RoleDevice, PasswordHash: "$7$x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Create(ctx, Spec{ID: "r", ModelPath: e.path, Devices: []string{"a", "gone", "b", "later"}, Waves: 4, Canary: 0.1, WaveTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	if got := states(e.status("r")); got != "a:pending gone:skipped b:pending later:pending" {
		t.Fatalf("created: %s", got)
	}
	if err := d.RevokeCredential(ctx, "later"); err != nil { // revoked before its wave
		t.Fatal(err)
	}
	if err := e.s.Pause(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	e.step()
	if st := e.status("r"); st.Wave != 0 || st.State != db.RolloutPaused {
		t.Fatalf("paused: %+v", st.Rollout)
	}
	if err := e.s.Pause(ctx, "r"); err == nil {
		t.Error("paused twice")
	}
	if err := e.s.Resume(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	e.step()
	time.Sleep(1100 * time.Millisecond) // a stays silent past the wave timeout
	e.step()
	st := e.status("r")
	if got := states(st); got != "a:sent gone:skipped b:sent later:pending" || st.Wave != 3 {
		t.Fatalf("after the wave timeout: %s, wave %d (the revoked device's wave is passed over)", got, st.Wave)
	}
	time.Sleep(1100 * time.Millisecond)
	e.step()
	st = e.status("r")
	if got := states(st); got != "a:sent gone:skipped b:sent later:skipped" || st.Wave != 4 {
		t.Fatalf("the wave of a device revoked since the rollout began: %s, wave %d", got, st.Wave)
	}
	for _, dev := range []string{"gone", "later"} {
		if _, err := d.GetDesired(ctx, dev); err == nil {
			t.Errorf("revoked device %s got a desired document", dev)
		}
	}
	e.report("a", 1, 0, "")
	e.report("b", 1, 0, "")
	e.step()
	if st := e.status("r"); st.State != db.RolloutDone {
		t.Errorf("%s, want done", st.State)
	}
}

func TestCreateInvalid(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	for _, tc := range []struct {
		name string
		sp   Spec
		want string
	}{
		{"nothing", Spec{Devices: []string{"a"}}, "nothing to roll out"},
		{"no devices", Spec{ModelPath: e.path}, "no devices"},
		{"bad device", Spec{ModelPath: e.path, Devices: []string{"a/b"}}, "device id"},
		{"twice", Spec{ModelPath: e.path, Devices: []string{"a", "a"}}, "given twice"},
		{"bad config", Spec{Config: json.RawMessage(`[1]`), Devices: []string{"a"}}, "not a JSON object"},
		{"canary", Spec{ModelPath: e.path, Devices: []string{"a"}, Canary: 2}, "canary"},
		{"threshold", Spec{ModelPath: e.path, Devices: []string{"a"}, HaltThreshold: -1}, "halt threshold"},
		{"no model file", Spec{ModelPath: "/nonexistent.onnx", Devices: []string{"a"}}, "no such file"},
		{"empty model", Spec{ModelPath: os.DevNull, Devices: []string{"a"}}, "want 1 to"},
	} {
		if _, err := e.s.Create(context.Background(), tc.sp); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.want)
		}
	}
	if rs, _ := e.s.DB.ListRollouts(context.Background()); len(rs) != 0 {
		t.Errorf("refused rollouts were stored: %+v", rs)
	}
}
