package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/selection"
	"github.com/canopy-forest/canopy/sync/outbox"
)

func TestRunFolderToOutbox(t *testing.T) {
	src, data := t.TempDir(), t.TempDir()
	writeImages(t, src, 4)
	open := func() *outbox.Outbox {
		ob, err := outbox.Open(filepath.Join(data, "outbox.db"), outbox.Options{}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return ob
	}
	ob := open()
	a := newAgent(t, src, data, OutboxSink{ob}, selection.Policy{})
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := ob.Stats()
	if err != nil || st.Depth != 4 {
		t.Fatalf("outbox depth: got %d (%v), want 4", st.Depth, err)
	}
	if pos, _ := ob.Cursor(capture.Key(src)); pos != "img_d.png" {
		t.Fatalf("cursor: got %q, want img_d.png", pos)
	}
	ob.Close()

	// Reopened, the agent resumes after the cursor: nothing is taken twice.
	writeImages(t, src, 5)
	ob = open()
	defer ob.Close()
	a.o.Encoder.Close()
	a2 := newAgent(t, src, data, OutboxSink{ob}, selection.Policy{})
	if err := a2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := a2.Stats(); s.FramesRead != 1 || s.ItemsPut != 1 {
		t.Fatalf("second run: got %+v, want 1 frame read and put", s)
	}
	recs, err := ob.Next("", 10)
	if err != nil || len(recs) != 5 {
		t.Fatalf("outbox records: got %d (%v), want 5", len(recs), err)
	}
	if recs[4].Item.Meta.Seq != 5 || recs[4].Item.Meta.Source != "img_e.png" {
		t.Fatalf("last record: got seq %d source %q", recs[4].Item.Meta.Seq, recs[4].Item.Meta.Source)
	}
}
