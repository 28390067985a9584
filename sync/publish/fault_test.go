package publish_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/sync/internal/testreceiver"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// TestBrokerRestart stops the broker for a while and starts it again while
// items keep being put: everything arrives, in order.
func TestBrokerRestart(t *testing.T) {
	b := testreceiver.StartBroker(t)
	root, device := uniq("restart"), uniq("dev")
	rc := testreceiver.Start(t, b.CloudURL(), root)
	ob := openOutbox(t, t.TempDir())
	cfg := testConfig(b.URL(), root, device)
	cfg.ChunkSize = 8 << 10
	cfg.AckTimeout = 2 * time.Second
	p := newPublisher(t, cfg, ob)
	stop := start(t, p)

	const n = 60
	var (
		mu   sync.Mutex
		want []wire.Item
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	putDone := make(chan struct{})
	go func() { // the device keeps capturing through the outage
		defer close(putDone)
		for i := range n {
			it := newItem(t, device, i+1, 20<<10)
			if err := ob.Put(ctx, it, outboxCursor()); err != nil {
				t.Errorf("put: %v", err)
				return
			}
			mu.Lock()
			want = append(want, it)
			mu.Unlock()
			time.Sleep(25 * time.Millisecond)
		}
	}()
	if !rc.WaitLen(15, 60*time.Second) {
		t.Fatalf("only %d items before the outage", rc.Len())
	}
	b.Stop()
	down := time.Now()
	beforeOutage := rc.Len()
	time.Sleep(1500 * time.Millisecond)
	subs := rc.Subscriptions()
	if err := b.StartStaged(func() {
		if !rc.WaitSubscriptions(subs+1, 60*time.Second) {
			t.Errorf("receiver did not resubscribe")
		}
	}); err != nil {
		t.Fatalf("restart broker: %v", err)
	}
	t.Logf("broker down for %v with %d of %d items stored", time.Since(down).Round(time.Millisecond), beforeOutage, n)
	<-putDone
	waitDrained(t, p, 120*time.Second)
	stop()

	got := rc.Order()
	if len(got) != n {
		t.Fatalf("receiver stored %d items, want %d", len(got), n)
	}
	for i, w := range want {
		if got[i] != w.Meta.ItemID {
			t.Fatalf("item %d: got %s, want %s (out of order)", i, got[i], w.Meta.ItemID)
		}
		if it, _ := rc.Item(got[i]); !sameItem(it, w) {
			t.Errorf("item %s: content differs", w.Meta.ItemID)
		}
	}
	st := p.Stats()
	if st.Reconnects < 1 {
		t.Errorf("reconnects: got %d, want at least 1", st.Reconnects)
	}
	t.Logf("fault broker-restart: %d items put, %d stored once each, %d deliveries (duplicates %d), %d sends, %d retransmitted, %d reconnects, %d frames refused by the reassembler",
		n, len(got), rc.Deliveries(), rc.Deliveries()-len(got), st.Published, st.Retransmitted, st.Reconnects, rc.Errors())
}

// TestCutMidItem cuts the connection in the middle of an item's chunks,
// several times: the item is sent again and arrives once, complete.
func TestCutMidItem(t *testing.T) {
	b := testreceiver.StartBroker(t)
	// Every one of the first 3 connections is cut after 50 KB from the
	// client: inside the first 64 KB item, whose chunks are 16 KiB.
	proxy := testreceiver.StartProxy(t, b.Addr(), 50_000, 3)
	root, device := uniq("cut"), uniq("dev")
	rc := testreceiver.Start(t, b.CloudURL(), root)
	ob := newMemOutbox()
	var want []wire.Item
	for i := range 5 {
		it := newItem(t, device, i+1, 64<<10)
		ob.put(it)
		want = append(want, it)
	}
	cfg := testConfig(proxy.URL(), root, device)
	cfg.MaxBackoff = time.Second
	p := newPublisher(t, cfg, ob)
	start(t, p)
	waitDrained(t, p, 40*time.Second)
	got := rc.Order()
	if len(got) != len(want) {
		t.Fatalf("stored %d items, want %d", len(got), len(want))
	}
	for i, w := range want {
		it, _ := rc.Item(w.Meta.ItemID)
		if got[i] != w.Meta.ItemID || !sameItem(it, w) {
			t.Errorf("item %d (%s): missing, out of order or incomplete", i, w.Meta.ItemID)
		}
		if c := rc.Count(w.Meta.ItemID); c != 1 {
			t.Errorf("item %d received complete %d times, want 1", i, c)
		}
	}
	st := p.Stats()
	if proxy.Cuts() != 3 || st.Reconnects < 3 {
		t.Errorf("cuts %d, reconnects %d: want 3 and at least 3", proxy.Cuts(), st.Reconnects)
	}
	t.Logf("fault cut-mid-item: %d connections cut after 50000 bytes, %d reconnects, %d sends for %d items, %d retransmitted, each stored once",
		proxy.Cuts(), st.Reconnects, st.Published, len(want), st.Retransmitted)
}

// TestOverdueHoldsNewItems loses an item's frames on a live connection (as
// a broker with no subscriber would): once its ack is overdue, no newer item
// is started until it is acknowledged, so the newer ones are stored after it.
func TestOverdueHoldsNewItems(t *testing.T) {
	b := testreceiver.StartBroker(t)
	root, device := uniq("overdue"), uniq("dev")
	rc := testreceiver.Start(t, b.CloudURL(), root)
	first := newItem(t, device, 1, 20<<10)
	rc.Lose = func(it wire.Item, n int) bool { return it.Meta.ItemID == first.Meta.ItemID && n <= 3 }
	ob := newMemOutbox()
	ob.put(first)
	cfg := testConfig(b.URL(), root, device)
	cfg.AckTimeout = 300 * time.Millisecond
	p := newPublisher(t, cfg, ob)
	start(t, p)
	deadline := time.Now().Add(60 * time.Second)
	for p.Stats().Retransmitted < 1 { // first is overdue
		if time.Now().After(deadline) {
			t.Fatalf("no retransmission within 60s: %+v", p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := []wire.Item{first}
	for i := range 3 {
		it := newItem(t, device, i+2, 1000)
		ob.put(it)
		want = append(want, it)
	}
	waitDrained(t, p, 60*time.Second)
	got := rc.Order()
	if len(got) != len(want) {
		t.Fatalf("stored %d items, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i] != w.Meta.ItemID {
			t.Errorf("item %d: got %s, want %s (out of order)", i, got[i], w.Meta.ItemID)
		}
	}
}

// TestConnectFailuresCounted: a publisher that cannot connect (here, to a
// port nothing listens on; in the fleet of issue 25, a process out of file
// descriptors) keeps trying and says so in its counters, so that a device
// that never connects is told from one that connected and got no ack.
func TestConnectFailuresCounted(t *testing.T) {
	b := testreceiver.StartBroker(t)
	url := b.URL()
	b.Stop() // nothing listens there now
	device := uniq("dev")
	cfg := testConfig(url, uniq("refused"), device)
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond
	p := newPublisher(t, cfg, openOutbox(t, t.TempDir()))
	start(t, p)
	waitStats(p, 10*time.Second, func(st publish.Stats) bool { return st.ConnectFailures >= 2 })
	if st := p.Stats(); st.ConnectFailures < 2 || st.Reconnects != 0 || st.Connected {
		t.Fatalf("stats %+v: want 2 or more connect failures, never connected", st)
	}
}

// TestSubscriptionRefused: the publisher does not wait for the broker's
// answer to its subscription to acks before sending, but it checks it: a
// refusal (here, logged in as another device, whose acks are not this
// one's to read) ends the session, and the publisher connects again
// rather than send items whose acks it would never hear.
func TestSubscriptionRefused(t *testing.T) {
	b := testreceiver.StartBroker(t)
	device := uniq("dev")
	cfg := testConfig(b.URL(), uniq("refused"), device)
	cfg.Username, cfg.Password = "other", testreceiver.Password("other")
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond
	p := newPublisher(t, cfg, openOutbox(t, t.TempDir()))
	start(t, p)
	if st := waitStats(p, 10*time.Second, func(st publish.Stats) bool { return st.Reconnects >= 1 }); st.Reconnects < 1 {
		t.Fatalf("stats %+v: want the session ended by the refusal and a reconnection", st)
	}
}

// waitStats waits up to timeout for p's counters to satisfy ok and returns
// them as they are then.
func waitStats(p *publish.Publisher, timeout time.Duration, ok func(publish.Stats) bool) publish.Stats {
	deadline := time.Now().Add(timeout)
	for st := p.Stats(); ; st = p.Stats() {
		if ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
}
