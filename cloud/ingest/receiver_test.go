package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/sync/wire"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// suiteEnv is where a receiver suite runs: a broker, a blob store and a
// database, each private to the test.
type suiteEnv struct {
	broker string
	topics wire.Topics
	blobs  blob.Store
	db     interface {
		Images
		Devices
	}
	rows    func(t *testing.T, device string) int // rows of device in the database
	noShare bool
}

// startReceiver runs a receiver until the test ends (or until stop).
func startReceiver(t *testing.T, e suiteEnv) (*Receiver, *Metrics) {
	r, m, _ := startReceiverStop(t, e)
	return r, m
}

func startReceiverStop(t *testing.T, e suiteEnv) (*Receiver, *Metrics, func()) {
	t.Helper()
	m := NewMetrics(nil)
	id := fmt.Sprintf("test-recv-%d", time.Now().UnixNano())
	staging, _ := e.db.(Staging)
	r, err := NewReceiver(Config{
		Broker: e.broker, ClientID: id,
		Topics: e.topics, NoShare: e.noShare, ShareGroup: "test",
		Limits:  wire.Limits{MaxItemBytes: 4 << 20},
		Staging: staging, SpillAfter: 100 * time.Millisecond,
	}, NewSaver(e.blobs, e.db, ImageLimits{}), e.db, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			forgetSession(e.broker, id)
		})
	}
	t.Cleanup(stop)
	select {
	case <-r.Subscribed():
	case <-time.After(20 * time.Second):
		t.Fatal("receiver did not subscribe within 20 s")
	}
	return r, m, stop
}

// runReceiverSuite is the receiver's behaviour, the same on every broker,
// blob store and database.
func runReceiverSuite(t *testing.T, e suiteEnv) {
	_, m := startReceiver(t, e)
	ctx := context.Background()
	objects := func(t *testing.T, device string) int {
		keys, err := e.blobs.List(ctx, blob.Raw, device+"/")
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}

	t.Run("stores and acks", func(t *testing.T) {
		d := newDevice(t, e.broker, e.topics, "good")
		var ids []string
		for i := range 5 {
			it := testItem(t, "good", byte(i))
			d.send(it, 2048) // several chunks each
			ids = append(ids, it.Meta.ItemID)
		}
		for id, a := range d.waitAcks(ids...) {
			if a.Status != wire.AckStored || a.Duplicate {
				t.Errorf("ack of %s: got %+v, want stored, not duplicate", id, a)
			}
		}
		if n := e.rows(t, "good"); n != 5 {
			t.Errorf("rows: got %d, want 5", n)
		}
		if n := objects(t, "good"); n != 15 {
			t.Errorf("objects: got %d, want 15 (image, mask, meta.json each)", n)
		}
	})

	t.Run("duplicate acked again, one row", func(t *testing.T) {
		d := newDevice(t, e.broker, e.topics, "dup")
		it := testItem(t, "dup", 7)
		d.send(it, 0)
		if a := d.waitAcks(it.Meta.ItemID)[it.Meta.ItemID]; a.Status != wire.AckStored || a.Duplicate {
			t.Fatalf("first ack: %+v", a)
		}
		d.send(it, 3000) // again, chunked differently
		if a := d.waitAcks(it.Meta.ItemID)[it.Meta.ItemID]; a.Status != wire.AckStored || !a.Duplicate {
			t.Errorf("second ack: got %+v, want stored and duplicate", a)
		}
		if n := e.rows(t, "dup"); n != 1 {
			t.Errorf("rows: got %d, want 1", n)
		}
		if n := objects(t, "dup"); n != 3 {
			t.Errorf("objects: got %d, want 3", n)
		}
	})

	t.Run("rejections store nothing", func(t *testing.T) {
		d := newDevice(t, e.broker, e.topics, "evil")
		wrong := testItem(t, "victim", 1) // sent on evil's topic
		d.send(wrong, 0)

		bad := testItem(t, "evil", 2)
		frames, err := wire.Chunk(bad, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := frames[0]
		f[len(f)-1] ^= 0xff // body no longer matches its SHA-256
		d.sendFrames(frames)

		junk := testItem(t, "evil", 3)
		junk.Parts[0].Data = []byte("GIF89a but not really an image at all")
		d.send(junk, 0)

		acks := d.waitAcks(wrong.Meta.ItemID, bad.Meta.ItemID, junk.Meta.ItemID)
		for id, want := range map[string]string{
			wrong.Meta.ItemID: wire.ReasonDeviceMismatch,
			bad.Meta.ItemID:   wire.ReasonDigestMismatch,
			junk.Meta.ItemID:  wire.ReasonBadItem,
		} {
			if a := acks[id]; a.Status != wire.AckRejected || a.Reason != want {
				t.Errorf("ack of %s: got %+v, want rejected %s", id, a, want)
			}
		}
		for _, dev := range []string{"evil", "victim"} {
			if n := e.rows(t, dev); n != 0 {
				t.Errorf("rows of %s: got %d, want 0", dev, n)
			}
			if n := objects(t, dev); n != 0 {
				t.Errorf("objects of %s: got %d, want 0", dev, n)
			}
		}
		for _, reason := range []string{ReasonWrongDevice, ReasonDigest, ReasonBadImage} {
			if got := counterValue(m.Rejected.WithLabelValues("mqtt", reason)); got < 1 {
				t.Errorf("rejected{reason=%s}: got %v, want at least 1", reason, got)
			}
		}
	})

	t.Run("evicted image: row without image", func(t *testing.T) {
		d := newDevice(t, e.broker, e.topics, "evict")
		it := testItem(t, "evict", 9)
		it.Meta.ImageEvicted = true
		it.Parts[0].Data = nil // as the outbox sends it
		d.send(it, 0)
		if a := d.waitAcks(it.Meta.ItemID)[it.Meta.ItemID]; a.Status != wire.AckStored {
			t.Fatalf("ack: got %+v, want stored", a)
		}
		if n := e.rows(t, "evict"); n != 1 {
			t.Errorf("rows: got %d, want 1", n)
		}
		if n := objects(t, "evict"); n != 2 {
			t.Errorf("objects: got %d, want 2 (mask, meta.json)", n)
		}
	})

	if _, ok := e.db.(Staging); !ok || e.noShare {
		return
	}
	t.Run("items spread over a group of receivers", func(t *testing.T) {
		// Two more receivers in the group: the broker spreads the chunks
		// of each item over the three; staging finishes every item.
		_, m2 := startReceiver(t, e)
		_, m3, stop3 := startReceiverStop(t, e)
		d := newDevice(t, e.broker, e.topics, "spread")
		var ids []string
		big := func(i int) wire.Item {
			it := testItem(t, "spread", byte(i))
			it.Parts[0].Data = noiseJPEG(t, 256, 256, byte(i))
			it.Meta.Width, it.Meta.Height = 256, 256
			return it
		}
		var items []wire.Item
		for i := range 12 {
			it := big(i)
			d.send(it, 16<<10) // several chunks each
			ids = append(ids, it.Meta.ItemID)
			items = append(items, it)
			if i == 5 {
				stop3() // a receiver leaves mid-run: nothing it held is needed
			}
		}
		missing := map[string]bool{}
		for _, id := range ids {
			missing[id] = true
		}
		// Items whose chunks were held by the receiver that left are sent
		// again, as a device does when no ack comes.
		for round := 0; round < 5 && len(missing) > 0; round++ {
			deadline := time.After(3 * time.Second)
		wait:
			for len(missing) > 0 {
				select {
				case a := <-d.acks:
					if a.Status != wire.AckStored {
						t.Fatalf("ack %+v, want stored", a)
					}
					delete(missing, a.ItemID)
				case <-deadline:
					break wait
				}
			}
			for i, id := range ids {
				if missing[id] {
					d.send(items[i], 16<<10) // the same bytes, as a device sends again
				}
			}
		}
		if len(missing) > 0 {
			t.Fatalf("%d of %d items never acknowledged", len(missing), len(ids))
		}
		if n := e.rows(t, "spread"); n != len(ids) {
			t.Errorf("rows: got %d, want %d", n, len(ids))
		}
		staged := counterValue(m.FromStaging) + counterValue(m2.FromStaging) + counterValue(m3.FromStaging)
		t.Logf("items assembled from staged chunks: %v of %d; received %v %v %v; staged chunks %v %v %v", staged, len(ids),
			counterValue(m.Received.WithLabelValues("mqtt")), counterValue(m2.Received.WithLabelValues("mqtt")), counterValue(m3.Received.WithLabelValues("mqtt")),
			counterValue(m.Staged), counterValue(m2.Staged), counterValue(m3.Staged))
		if staged == 0 {
			t.Error("no item was assembled from staged chunks: the broker did not spread them, or staging is not used")
		}
	})
}

func TestReceiverEmbedded(t *testing.T) {
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := blob.EnsureBuckets(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	fdb := newFakeDB()
	e := suiteEnv{broker: startBroker(t), topics: wire.Topics{Root: "t"}, blobs: store, db: fdb,
		rows: func(_ *testing.T, device string) int {
			fdb.mu.Lock()
			defer fdb.mu.Unlock()
			n := 0
			for _, r := range fdb.rows {
				if r.Device == device {
					n++
				}
			}
			return n
		}}
	runReceiverSuite(t, e)

	t.Run("status updates the device", func(t *testing.T) {
		d := newDevice(t, e.broker, e.topics, "stat")
		st, _ := wire.EncodeStatus(wire.Status{Device: "stat", State: "online", OutboxDepth: 7, Version: "v1", Time: time.Now()})
		d.client.Publish(e.topics.Status("stat"), 1, true, st).Wait()
		deadline := time.Now().Add(10 * time.Second)
		for {
			fdb.mu.Lock()
			s, ok := fdb.devices["stat"]
			fdb.mu.Unlock()
			if ok {
				if !s.Online || s.OutboxDepth != 7 || s.Version != "v1" {
					t.Errorf("device status: got %+v", s)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("status not applied within 10 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("statuses of many devices: the latest of each is written", func(t *testing.T) {
		d := newDevice(t, e.broker, e.topics, "stat-src")
		const devices, rounds = 300, 4
		for round := range rounds {
			for i := range devices {
				dev := fmt.Sprintf("fleet-%03d", i)
				st, _ := wire.EncodeStatus(wire.Status{Device: dev, State: "online", OutboxDepth: round, Time: time.Now()})
				d.client.Publish(e.topics.Status(dev), 1, false, st)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			fdb.mu.Lock()
			done := 0
			for i := range devices {
				if s, ok := fdb.devices[fmt.Sprintf("fleet-%03d", i)]; ok && s.OutboxDepth == rounds-1 {
					done++
				}
			}
			fdb.mu.Unlock()
			if done == devices {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d devices have their latest status after 20 s", done, devices)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("database down: no ack", func(t *testing.T) {
		d := newDevice(t, e.broker, e.topics, "nodb")
		fdb.mu.Lock()
		fdb.failPut = errors.New("database down")
		fdb.mu.Unlock()
		it := testItem(t, "nodb", 1)
		d.send(it, 0)
		select {
		case a := <-d.acks:
			t.Fatalf("got ack %+v while the database is down; want none", a)
		case <-time.After(500 * time.Millisecond):
		}
		fdb.mu.Lock()
		fdb.failPut = nil
		fdb.mu.Unlock()
		d.send(it, 0) // the device sends again
		if a := d.waitAcks(it.Meta.ItemID)[it.Meta.ItemID]; a.Status != wire.AckStored {
			t.Errorf("after recovery: got %+v, want stored", a)
		}
	})
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// forgetSession removes a persistent session from the broker (a real
// Mosquitto keeps it otherwise): connect with a clean session, disconnect.
func forgetSession(broker, clientID string) {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetCleanSession(true))
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(50)
	}
}
