package publish_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/internal/ulid"
	"github.com/canopy-forest/canopy/sync/internal/testreceiver"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

var ids = ulid.NewGenerator(nil)

// target is a broker to test against, with the URL devices use and the URL
// the receiver uses.
type target struct {
	name          string
	device, cloud string
}

// targets returns the in-process broker and, when CANOPY_TEST_MQTT is set,
// the real Mosquitto.
func targets(t *testing.T) []target {
	b := testreceiver.StartBroker(t)
	ts := []target{{"mochi", b.URL(), b.CloudURL()}}
	if u := os.Getenv("CANOPY_TEST_MQTT"); u != "" {
		ts = append(ts, target{"mosquitto", u, u})
	}
	return ts
}

// uniq returns a name for a topic root or device that no other run uses.
func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func openOutbox(t testing.TB, dir string) *outbox.Outbox {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open outbox: %v", err)
	}
	t.Cleanup(func() { _ = ob.Close() })
	return ob
}

// newItem makes an item of about size bytes of random image data.
func newItem(t testing.TB, device string, seq int, size int) wire.Item {
	t.Helper()
	id, err := ids.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	img := make([]byte, size)
	_, _ = rand.Read(img)
	return wire.Item{
		Meta: wire.Meta{ItemID: id, Device: device, Seq: uint64(seq), CapturedAt: time.Now().UTC(),
			Width: 64, Height: 48, ForestShare: 0.5, Segmenter: "test"},
		Parts: []wire.Part{
			{Name: wire.PartImage, ContentType: "image/jpeg", Data: img},
			{Name: wire.PartMask, ContentType: "image/png", Data: []byte("mask")},
		},
	}
}

func put(t testing.TB, ob *outbox.Outbox, it wire.Item) {
	t.Helper()
	if err := ob.Put(context.Background(), it, outbox.Cursor{}); err != nil {
		t.Fatalf("put %s: %v", it.Meta.ItemID, err)
	}
}

// testConfig is a publisher configuration with short timeouts.
func testConfig(broker, root, device string) publish.Config {
	return publish.Config{
		Broker: broker, TopicRoot: root, Device: device,
		ChunkSize: 16 << 10, Window: 8,
		AckTimeout: 3 * time.Second, KeepAlive: 5 * time.Second, ConnectTimeout: 3 * time.Second,
		MaxBackoff: 2 * time.Second, FlushTimeout: time.Second, Version: "test",
		CloudKey: testreceiver.PublicKey, // receipts on: every test checks signed acks
		// Identity on: the test broker's device listener wants the device's
		// own login (other brokers of the tests ignore it).
		Username: device, Password: testreceiver.Password(device),
	}
}

// forgetSession removes, at the end of the test, the persistent session
// that the publisher of device leaves on a shared broker such as Mosquitto
// (connecting with a clean session discards it).
func forgetSession(t testing.TB, broker, device string) {
	t.Cleanup(func() {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("canopy-" + device).SetCleanSession(true))
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Disconnect(0)
		}
	})
}

// newPublisher makes a publisher of ob's items that logs through the test.
func newPublisher(t *testing.T, cfg publish.Config, ob publish.Outbox) *publish.Publisher {
	t.Helper()
	p, err := publish.New(cfg, ob, testreceiver.Logger(t, slogLevel()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs p until the end of the test, which checks that Run returns nil.
func start(t *testing.T, p *publish.Publisher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: got %v, want nil on cancel", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return within 15s of cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitDrained waits until p reports the outbox empty and nothing in flight.
func waitDrained(t *testing.T, p *publish.Publisher, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := p.Drained()
		if err != nil {
			t.Fatalf("drained: %v", err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained after %v: %+v", timeout, p.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sameItem(a, b wire.Item) bool {
	if a.Meta.ItemID != b.Meta.ItemID || a.Meta.Seq != b.Meta.Seq || len(a.Parts) != len(b.Parts) {
		return false
	}
	for i := range a.Parts {
		if a.Parts[i].Name != b.Parts[i].Name || !bytes.Equal(a.Parts[i].Data, b.Parts[i].Data) {
			return false
		}
	}
	return true
}
