package ulid

import (
	"bytes"
	"sort"
	"testing"
	"time"
)

func TestMonotonicAndSortable(t *testing.T) {
	g := NewGenerator(nil)
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 1000; i++ {
		id, err := g.New(base.Add(time.Duration(i/100) * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 26 {
			t.Fatalf("len(%q) = %d, want 26", id, len(id))
		}
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made in order do not sort in order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	got, err := Time(ids[999])
	if err != nil || !got.Equal(base.Add(9*time.Millisecond)) {
		t.Fatalf("Time: got %v, %v; want %v", got, err, base.Add(9*time.Millisecond))
	}
}

func TestKnownEncoding(t *testing.T) {
	for _, tc := range []struct {
		ms   uint64
		hi   uint16
		lo   uint64
		want string
	}{
		{0, 0, 0, "00000000000000000000000000"},
		{1<<48 - 1, 0xffff, 1<<64 - 1, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		{1, 0, 1, "00000000010000000000000001"},
	} {
		if got := encode(tc.ms, tc.hi, tc.lo); got != tc.want {
			t.Errorf("encode(%d,%d,%d) = %s, want %s", tc.ms, tc.hi, tc.lo, got, tc.want)
		}
	}
}

func TestOverflow(t *testing.T) {
	g := NewGenerator(bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)))
	now := time.UnixMilli(1_700_000_000_000)
	if _, err := g.New(now); err != nil {
		t.Fatal(err)
	}
	if _, err := g.New(now); err != ErrOverflow {
		t.Fatalf("got %v, want ErrOverflow", err)
	}
}
