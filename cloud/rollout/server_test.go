package rollout

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/agent/desired"
	"github.com/canopy-forest/canopy/cloud/broker"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// TestServerToDevices: a receiver's rollout server and devices made of the
// real agent/desired Manager on the real publisher, over the embedded
// broker: the model reaches every device in chunks, each wave after the
// previous one applied, and the rollout is done; what each device was sent
// is its model's size.
func TestServerToDevices(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := dbtest.SQLite(t)
	b, err := broker.New(broker.Config{Addr: "127.0.0.1:0", Anonymous: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go b.Run(ctx)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	topics := wire.Topics{Root: "srv"}
	svc := &Service{DB: d, Key: key}
	srv, err := NewServer(ServerConfig{Broker: b.URL(), ClientID: "rollout-test", Topics: topics, StepEvery: 100 * time.Millisecond}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	devices := []string{"dev-a", "dev-b", "dev-c"}
	managers := map[string]*desired.Manager{}
	for _, dev := range devices {
		dir := t.TempDir()
		m, err := desired.Open(desired.Options{Device: dev, Dir: filepath.Join(dir, "desired"), CloudKey: pub, Topics: topics, FetchWindow: 4})
		if err != nil {
			t.Fatal(err)
		}
		ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ob.Close()
		p, err := publish.New(publish.Config{Broker: b.URL(), TopicRoot: topics.Root, Device: dev, Downlink: m,
			StatusInterval: time.Hour, MinBackoff: 100 * time.Millisecond}, ob, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		managers[dev] = m
		go m.Run(ctx)
		go p.Run(ctx)
	}
	body := make([]byte, 300_000)
	_, _ = rand.Read(body)
	model := binary.AppendUvarint([]byte{0x08, 0x07, 0x3a}, uint64(len(body)))
	model = append(model, body...)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, Spec{ID: "r1", ModelPath: path, Devices: devices, Waves: 2, Canary: 0.3, ChunkSize: 32 << 10}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var st Status
	for {
		if st, err = svc.Status(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if st.State == db.RolloutDone || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.State != db.RolloutDone || st.Counts[db.TargetApplied] != 3 {
		t.Fatalf("rollout %s, devices %s", st.State, states(st))
	}
	for _, tg := range st.Targets {
		if tg.BytesSent != int64(len(model)) || tg.Reported == nil || tg.Reported.ModelSHA256 != st.ModelSHA256 {
			t.Errorf("%s: sent %d bytes of %d, reports %+v", tg.Device, tg.BytesSent, len(model), tg.Reported)
		}
		if cur := managers[tg.Device].Current(); cur.ModelSHA256() != st.ModelSHA256 {
			t.Errorf("%s runs %+v", tg.Device, cur)
		}
	}
}
