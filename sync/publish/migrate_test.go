package publish_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/sync/internal/fixture"
	"github.com/canopy-forest/canopy/sync/internal/testreceiver"
	"github.com/canopy-forest/canopy/sync/outbox"
)

// TestDrainEarlierOutbox drains an outbox written by the release before
// version 2 records (fixture.OutboxV1): its waiting items, stored as single frames,
// reach the receiver whole, in order, are acknowledged and leave it; an
// item put now (stored as frames) follows them.
func TestDrainEarlierOutbox(t *testing.T) {
	b := testreceiver.StartBroker(t)
	root, device := uniq("v1"), "fixture-1"
	rc := testreceiver.Start(t, b.CloudURL(), root)
	ob, err := outbox.Open(fixture.OutboxV1(t), outbox.Options{MaxBytes: 600_000}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	waiting, err := ob.Next("", 10)
	if err != nil || len(waiting) != 4 {
		t.Fatalf("fixture: %d items waiting, %v", len(waiting), err)
	}
	it := newItem(t, device, 6, 50_000)
	put(t, ob, it)
	cfg := testConfig(b.URL(), root, device)
	cfg.ChunkSize = 0 // the outbox's: records are sent as read
	p := newPublisher(t, cfg, ob)
	start(t, p)
	waitDrained(t, p, 30*time.Second)
	want := append(waiting, outbox.Record{ID: it.Meta.ItemID, Item: it})
	if got := rc.Order(); len(got) != len(want) {
		t.Fatalf("receiver got %v, want %d items", got, len(want))
	}
	for i, w := range want {
		got, ok := rc.Item(w.ID)
		if !ok || !sameItem(got, w.Item) || rc.Order()[i] != w.ID {
			t.Errorf("item %d (%s): received %v in place %d, want it whole in order", i, w.ID, ok, i)
		}
	}
	if st, _ := ob.Stats(); st.Depth != 0 || st.DeadLetters != 1 {
		t.Errorf("outbox after the drain: %+v, want empty with its dead letter", st)
	}
}
