package wire

import (
	"bytes"
	"testing"
	"time"
)

// TestReassemblerTake: incomplete items leave by idle time or by the byte
// bound, as the frames they came in, and another Reassembler finishes them.
func TestReassemblerTake(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := testItem("01JD00000000000000000000AA", 10_000)
	b := testItem("01JD00000000000000000000BB", 10_000)
	fa, err := Chunk(a, 4096)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := Chunk(b, 4096)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReassembler(Limits{})
	// a: its first two chunks at t0; b: its first chunk at t0+2s.
	for _, f := range fa[:2] {
		if it, err := r.Add(f, t0); it != nil || err != nil {
			t.Fatalf("Add: %v, %v", it, err)
		}
	}
	if _, err := r.Add(fb[0], t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	held := int64(len(fa[0]) + len(fa[1]) + len(fb[0]))
	if got := r.Held(); got != held {
		t.Fatalf("Held = %d, want %d", got, held)
	}
	if got := r.Take(t0.Add(-time.Second), 0); len(got) != 0 {
		t.Fatalf("Take of nothing idle: got %d items", len(got))
	}
	// Idle since t0+1s: a only.
	got := r.Take(t0.Add(time.Second), 0)
	takenA := got
	if len(got) != 1 || got[0].ItemID != a.Meta.ItemID || got[0].Chunks != len(fa) || len(got[0].Frames) != 2 {
		t.Fatalf("Take idle: got %+v, want a with 2 of %d chunks", got, len(fa))
	}
	for i, cf := range got[0].Frames {
		if cf.Chunk != i || !bytes.Equal(cf.Frame, fa[i]) {
			t.Errorf("frame %d: chunk %d, equal %v; want chunk %d and the frame as sent", i, cf.Chunk, bytes.Equal(cf.Frame, fa[i]), i)
		}
	}
	if r.Held() != int64(len(fb[0])) || r.InProgress() != 1 {
		t.Errorf("after Take: held %d, in progress %d; want %d, 1", r.Held(), r.InProgress(), len(fb[0]))
	}
	// Over the byte bound: b goes although it is not idle.
	if got := r.Take(t0, 1); len(got) != 1 || got[0].ItemID != b.Meta.ItemID {
		t.Fatalf("Take over the bound: got %+v, want b", got)
	}
	if r.Held() != 0 || r.InProgress() != 0 {
		t.Errorf("after taking all: held %d, in progress %d", r.Held(), r.InProgress())
	}
	// Another Reassembler finishes a from the taken frames and the rest.
	other := NewReassembler(Limits{})
	var done *Item
	frames := [][]byte{takenA[0].Frames[0].Frame, takenA[0].Frames[1].Frame}
	for _, f := range append(frames, fa[2:]...) {
		if done, err = other.AddFrom(a.Meta.Device, f, t0); err != nil {
			t.Fatal(err)
		}
	}
	if done == nil || done.Meta.ItemID != a.Meta.ItemID {
		t.Fatalf("finishing elsewhere: got %v", done)
	}
}
