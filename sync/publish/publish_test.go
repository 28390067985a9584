package publish_test

import (
	"slices"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/sync/internal/testreceiver"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// TestDrain puts items of several sizes (one chunk, several chunks) and
// checks that every one arrives complete and in order, is acknowledged and
// leaves the outbox.
func TestDrain(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			root, device := uniq("drain"), uniq("dev")
			forgetSession(t, tg.device, device)
			rc := testreceiver.Start(t, tg.cloud, root)
			ob := openOutbox(t, t.TempDir())
			var want []wire.Item
			sizes := []int{0, 100, 16 << 10, 50 << 10, 200 << 10}
			for i := range 30 {
				it := newItem(t, device, i+1, sizes[i%len(sizes)])
				put(t, ob, it)
				want = append(want, it)
			}
			p := newPublisher(t, testConfig(tg.device, root, device), ob)
			stop := start(t, p)
			// More while running: the outbox's change signal wakes the publisher.
			for i := 30; i < 40; i++ {
				it := newItem(t, device, i+1, 20<<10)
				put(t, ob, it)
				want = append(want, it)
			}
			waitDrained(t, p, 30*time.Second)
			stop()
			got := rc.Order()
			if len(got) != len(want) {
				t.Fatalf("receiver stored %d items, want %d", len(got), len(want))
			}
			for i, w := range want {
				if got[i] != w.Meta.ItemID {
					t.Fatalf("item %d: got %s, want %s (out of order)", i, got[i], w.Meta.ItemID)
				}
				it, _ := rc.Item(got[i])
				if !sameItem(it, w) {
					t.Errorf("item %s: content differs from what was put", w.Meta.ItemID)
				}
			}
			st := p.Stats()
			if st.Acked != int64(len(want)) || st.Rejected != 0 || st.InFlight != 0 {
				t.Errorf("stats: got %+v, want %d acked, none rejected or in flight", st, len(want))
			}
			if l := p.Latency(); l.Count != uint64(len(want)) || l.Sum <= 0 || l.Counts[len(l.Counts)-1] > l.Count {
				t.Errorf("latency: got %d acks timed (sum %gs, %d within %gs), want %d", l.Count, l.Sum, l.Counts[len(l.Counts)-1], publish.LatencyBuckets[len(publish.LatencyBuckets)-1], len(want))
			}
			t.Logf("%s: %d items, %d frame bytes, %d retransmitted, %d reconnects", tg.name, st.Published, st.PublishedBytes, st.Retransmitted, st.Reconnects)
		})
	}
}

// TestRejected checks that an item the cloud rejects goes to the dead
// letters with the reason, and the others are stored.
func TestRejected(t *testing.T) {
	b := testreceiver.StartBroker(t)
	root, device := uniq("rej"), uniq("dev")
	rc := testreceiver.Start(t, b.CloudURL(), root)
	rc.Reject = func(it wire.Item) string {
		if it.Meta.Seq == 2 {
			return wire.ReasonDigestMismatch
		}
		return ""
	}
	ob := openOutbox(t, t.TempDir())
	for i := range 3 {
		put(t, ob, newItem(t, device, i+1, 1000))
	}
	p := newPublisher(t, testConfig(b.URL(), root, device), ob)
	start(t, p)
	waitDrained(t, p, 20*time.Second)
	dl, err := ob.DeadLetters()
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 1 || dl[0].Item.Meta.Seq != 2 || dl[0].Reason != wire.ReasonDigestMismatch {
		t.Fatalf("dead letters: got %+v, want item 2 with reason %q", dl, wire.ReasonDigestMismatch)
	}
	if st := p.Stats(); st.Acked != 2 || st.Rejected != 1 {
		t.Errorf("stats: got %+v, want 2 acked, 1 rejected", st)
	}
}

// TestAckLost checks that an item whose ack never comes is sent again after
// the ack timeout, and leaves the outbox only on the second ack.
func TestAckLost(t *testing.T) {
	b := testreceiver.StartBroker(t)
	root, device := uniq("acklost"), uniq("dev")
	rc := testreceiver.Start(t, b.CloudURL(), root)
	rc.DropAck = func(it wire.Item, n int) bool { return it.Meta.Seq == 1 && n == 1 }
	ob := newMemOutbox()
	first := newItem(t, device, 1, 40<<10)
	ob.put(first)
	ob.put(newItem(t, device, 2, 1000))
	cfg := testConfig(b.URL(), root, device)
	cfg.AckTimeout = 300 * time.Millisecond
	p := newPublisher(t, cfg, ob)
	start(t, p)
	waitDrained(t, p, 20*time.Second)
	if n := rc.Count(first.Meta.ItemID); n != 2 {
		t.Errorf("item 1 received %d times, want 2 (first ack dropped)", n)
	}
	if st := p.Stats(); st.Retransmitted < 1 || st.Acked != 2 {
		t.Errorf("stats: got %+v, want at least 1 retransmitted, 2 acked", st)
	}
}

// TestStatus checks the retained status: online with the outbox depth while
// running, offline after Run returns.
func TestStatus(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			root, device := uniq("status"), uniq("dev")
			forgetSession(t, tg.device, device)
			ob := openOutbox(t, t.TempDir())
			p := newPublisher(t, testConfig(tg.device, root, device), ob)
			stop := start(t, p)
			topic := wire.Topics{Root: root}.Status(device)
			st := readStatus(t, tg.cloud, topic, wire.StateOnline)
			if st.Device != device || st.Version != "test" {
				t.Errorf("status: got %+v, want device %s version test", st, device)
			}
			stop()
			readStatus(t, tg.cloud, topic, wire.StateOffline)
			// Clear the retained message on the shared broker.
			clear := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(tg.cloud).SetClientID(uniq("clear")))
			if tok := clear.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
				clear.Publish(topic, 1, true, []byte{}).WaitTimeout(5 * time.Second)
				clear.Disconnect(100)
			}
		})
	}
}

// readStatus subscribes to topic until a status in state arrives.
func readStatus(t *testing.T, broker, topic, state string) wire.Status {
	t.Helper()
	got := make(chan wire.Status, 16)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(uniq("statusreader")))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect status reader: %v", tok.Error())
	}
	defer c.Disconnect(100)
	c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		if s, err := wire.DecodeStatus(m.Payload()); err == nil {
			got <- s
		}
	}).WaitTimeout(5 * time.Second)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-got:
			if s.State == state {
				return s
			}
		case <-deadline:
			t.Fatalf("no %s status on %s within 10s", state, topic)
		}
	}
}

// TestBandwidth checks that the byte limit holds over a short run.
func TestBandwidth(t *testing.T) {
	b := testreceiver.StartBroker(t)
	root, device := uniq("bw"), uniq("dev")
	testreceiver.Start(t, b.CloudURL(), root)
	ob := openOutbox(t, t.TempDir())
	for i := range 6 {
		put(t, ob, newItem(t, device, i+1, 100<<10))
	}
	cfg := testConfig(b.URL(), root, device)
	cfg.BandwidthBytes = 400 << 10 // 600 KiB at 400 KiB/s with a 400 KiB burst: at least 0.5s
	p, err := publish.New(cfg, ob, nil)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	start(t, p)
	waitDrained(t, p, 20*time.Second)
	if d := time.Since(begin); d < 400*time.Millisecond {
		t.Errorf("600 KiB at 400 KiB/s took %v, want at least 0.4s", d)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     publish.Config
		wantErr bool
	}{
		{"ok", publish.Config{Broker: "tcp://127.0.0.1:1883", Device: "pi-1"}, false},
		{"ssl", publish.Config{Broker: "ssl://broker:8883", Device: "pi-1"}, false},
		{"ws", publish.Config{Broker: "ws://broker:8080/mqtt", Device: "pi-1"}, false},
		{"no broker", publish.Config{Device: "pi-1"}, true},
		{"bad scheme", publish.Config{Broker: "http://x", Device: "pi-1"}, true},
		{"bad device", publish.Config{Broker: "tcp://x:1", Device: "a/b"}, true},
		{"wildcard root", publish.Config{Broker: "tcp://x:1", Device: "d", TopicRoot: "a/#"}, true},
		{"cert without key", publish.Config{Broker: "ssl://x:1", Device: "d", CertFile: "c.pem"}, true},
		{"tiny chunks", publish.Config{Broker: "tcp://x:1", Device: "d", ChunkSize: 10}, true},
		{"negative bandwidth", publish.Config{Broker: "tcp://x:1", Device: "d", BandwidthBytes: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("Validate: got %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	pw := dir + "/pw"
	if err := writeFile(pw, "s3cret\n"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{publish.EnvUsername: "dev-1"}
	c := publish.Config{PasswordFile: pw, UsernameFile: dir + "/missing"}
	if err := c.LoadCredentials(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("LoadCredentials: %v (the environment wins over a missing file)", err)
	}
	if c.Username != "dev-1" || c.Password != "s3cret" {
		t.Errorf("got %q/%q, want dev-1/s3cret", c.Username, c.Password)
	}
	c = publish.Config{PasswordFile: dir + "/missing"}
	if err := c.LoadCredentials(func(string) string { return "" }); err == nil {
		t.Errorf("missing password file: got nil error")
	}
}

// TestDrainMemory drains an in-memory outbox through the in-process
// broker: the publisher's logic without the disk.
func TestDrainMemory(t *testing.T) {
	b := testreceiver.StartBroker(t)
	root, device := uniq("mem"), uniq("dev")
	rc := testreceiver.Start(t, b.CloudURL(), root)
	ob := newMemOutbox()
	var want []string
	for i := range 20 {
		it := newItem(t, device, i+1, (i%4)*20<<10)
		ob.put(it)
		want = append(want, it.Meta.ItemID)
	}
	p := newPublisher(t, testConfig(b.URL(), root, device), ob)
	start(t, p)
	waitDrained(t, p, 20*time.Second)
	if got := rc.Order(); !slices.Equal(got, want) {
		t.Errorf("receiver order:\n got %v\nwant %v", got, want)
	}
}
