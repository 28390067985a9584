package dbtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

func testArtifacts(t *testing.T, d *db.DB) {
	ctx := context.Background()
	body := bytes.Repeat([]byte("0123456789"), 2500) // 25000 bytes: chunks of 10000, 10000, 5000
	s := sha256.Sum256(body)
	a := db.Artifact{SHA256: hex.EncodeToString(s[:]), Size: int64(len(body)), ChunkSize: 10000, Name: "m.onnx"}
	bad := a
	bad.Size++
	if err := d.PutArtifact(ctx, bad, bytes.NewReader(body)); !errors.Is(err, db.ErrInvalid) {
		t.Fatalf("PutArtifact with the wrong size: %v, want ErrInvalid", err)
	}
	if _, err := d.GetArtifact(ctx, a.SHA256); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("a refused artifact was stored: %v", err)
	}
	for range 2 { // idempotent
		if err := d.PutArtifact(ctx, a, bytes.NewReader(body)); err != nil {
			t.Fatalf("PutArtifact: %v", err)
		}
	}
	got, err := d.GetArtifact(ctx, a.SHA256)
	if err != nil || got.Size != a.Size || got.ChunkSize != 10000 || got.Name != "m.onnx" {
		t.Fatalf("GetArtifact = %+v, %v", got, err)
	}
	cs, err := d.ArtifactChunks(ctx, a.SHA256, []int{2, 0, 7})
	if err != nil || len(cs) != 2 || !bytes.Equal(cs[0], body[:10000]) || !bytes.Equal(cs[2], body[20000:]) {
		t.Fatalf("ArtifactChunks = %d chunks, %v", len(cs), err)
	}
	for range 3 {
		if err := d.AddDelivery(ctx, "dev-a", a.SHA256, 2, 20000); err != nil {
			t.Fatal(err)
		}
	}
}

func doc(dev string, v int64) db.DesiredDoc {
	return db.DesiredDoc{Device: dev, Version: v, Doc: fmt.Sprintf(`{"device":%q,"version":%d}`, dev, v), Payload: fmt.Sprintf("signed %d", v), Rollout: "r1"}
}

func testRollouts(t *testing.T, d *db.DB) {
	ctx := context.Background()
	r := db.Rollout{ID: "r1", State: db.RolloutRunning, ModelSHA256: "ab", Waves: 2, Canary: 0.5, HaltThreshold: 0.2, WaveTimeout: time.Minute}
	targets := []db.RolloutTarget{{Device: "dev-a", Wave: 1}, {Device: "dev-b", Wave: 2}, {Device: "dev-c", Wave: 2, State: db.TargetSkipped, Detail: "revoked"}}
	if err := d.CreateRollout(ctx, r, targets); err != nil {
		t.Fatal(err)
	}
	r2 := r
	r2.ID = "r2"
	if err := d.CreateRollout(ctx, r2, targets[1:2]); !errors.Is(err, db.ErrExists) {
		t.Errorf("a second active rollout of dev-b: %v, want ErrExists", err)
	}
	// dev-a had a document before the rollout.
	if ok, err := d.SendDesired(ctx, "r1", db.WaveMove{}, db.TargetSent, nil, nil); err != nil || !ok {
		t.Fatalf("SendDesired of nothing: %v, %v", ok, err)
	}
	build := func(dev string, cur *db.DesiredDoc, before string) (db.DesiredDoc, error) {
		v := int64(1)
		if cur != nil {
			v = cur.Version + 1
		}
		return doc(dev, v), nil
	}
	// Two receivers send wave 1 at once: one does it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for range 2 {
		wg.Go(func() {
			ok, err := d.SendDesired(ctx, "r1", db.WaveMove{From: 0, To: 1}, db.TargetSent, []string{"dev-a"}, build)
			if err != nil {
				t.Errorf("SendDesired: %v", err)
			}
			if ok {
				mu.Lock()
				sent++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if sent != 1 {
		t.Fatalf("wave 1 sent %d times, want once", sent)
	}
	got, err := d.GetDesired(ctx, "dev-a")
	if err != nil || got.Version != 1 || got.Payload != "signed 1" {
		t.Fatalf("GetDesired = %+v, %v", got, err)
	}
	// A withdrawal: a new version, built from the document before.
	var before string
	if _, err := d.SendDesired(ctx, "r1", db.WaveMove{}, db.TargetWithdrawn, []string{"dev-a"}, func(dev string, cur *db.DesiredDoc, b string) (db.DesiredDoc, error) {
		before = b
		return doc(dev, cur.Version+1), nil
	}); err != nil {
		t.Fatal(err)
	}
	if before != "" {
		t.Errorf("dev-a had no document before the rollout, got %q", before)
	}
	if _, err := d.SendDesired(ctx, "r1", db.WaveMove{}, db.TargetSent, []string{"dev-a"}, func(dev string, cur *db.DesiredDoc, b string) (db.DesiredDoc, error) {
		return doc(dev, cur.Version), nil
	}); !errors.Is(err, db.ErrInvalid) {
		t.Errorf("a version that does not grow: %v, want ErrInvalid", err)
	}
	since := time.Now().Add(-time.Hour)
	docs, err := d.ListDesired(ctx, since)
	if err != nil || len(docs) != 1 || docs[0].Version != 2 {
		t.Fatalf("ListDesired = %+v, %v", docs, err)
	}
	if docs, _ := d.ListDesired(ctx, time.Now().Add(time.Hour)); len(docs) != 0 {
		t.Errorf("ListDesired of the future = %d documents", len(docs))
	}

	if err := d.UpdateReported(ctx, db.Reported{Device: "dev-a", Version: 2, ModelSHA256: "ab", State: "rolled_back", FailedVersion: 1, LastError: "check failed"}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddDelivery(ctx, "dev-a", "ab", 3, 300); err != nil {
		t.Fatal(err)
	}
	if err := d.SetTargetState(ctx, "r1", "dev-a", db.TargetFailed, "check failed"); err != nil {
		t.Fatal(err)
	}
	ts, err := d.RolloutTargets(ctx, "r1")
	if err != nil || len(ts) != 3 {
		t.Fatalf("RolloutTargets = %+v, %v", ts, err)
	}
	a := ts[0]
	if a.Device != "dev-a" || a.Version != 2 || a.State != db.TargetFailed || a.Reported == nil || a.Reported.FailedVersion != 1 || a.BytesSent != 300 {
		t.Errorf("dev-a: %+v (reported %+v)", a, a.Reported)
	}
	if ts[1].Reported != nil || ts[2].State != db.TargetSkipped {
		t.Errorf("dev-b, dev-c: %+v, %+v", ts[1], ts[2])
	}
	st, err := d.DeviceStates(ctx)
	if err != nil || st["dev-a"].Desired == nil || st["dev-a"].Reported == nil || st["dev-a"].Reported.LastError != "check failed" {
		t.Errorf("DeviceStates = %+v, %v", st, err)
	}

	// States move only from where they are.
	if ok, err := d.SetRolloutState(ctx, "r1", []string{db.RolloutPaused}, db.RolloutRunning, ""); ok || err != nil {
		t.Errorf("resume of a running rollout: %v, %v", ok, err)
	}
	if ok, err := d.SetRolloutState(ctx, "r1", []string{db.RolloutRunning}, db.RolloutHalted, "2 of 3 failed"); !ok || err != nil {
		t.Errorf("halt: %v, %v", ok, err)
	}
	if ok, _ := d.SendDesired(ctx, "r1", db.WaveMove{From: 1, To: 2}, db.TargetSent, []string{"dev-b"}, build); ok {
		t.Error("a wave was sent for a halted rollout")
	}
	g, err := d.GetRollout(ctx, "r1")
	if err != nil || g.State != db.RolloutHalted || g.Reason != "2 of 3 failed" || g.Wave != 1 || g.WaveTimeout != time.Minute || g.WaveStartedAt.IsZero() {
		t.Errorf("GetRollout = %+v, %v", g, err)
	}
	if rs, err := d.ListRollouts(ctx, db.RolloutRunning); err != nil || len(rs) != 0 {
		t.Errorf("running rollouts: %+v, %v", rs, err)
	}
	if _, err := d.SetRolloutState(ctx, "r1", []string{db.RolloutHalted}, db.RolloutAborted, "by hand"); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateRollout(ctx, r2, targets[:1]); err != nil {
		t.Errorf("a rollout after the abort of the first: %v", err)
	}
}
