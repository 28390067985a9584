package outbox

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func TestAckMany(t *testing.T) {
	tests := []struct {
		name        string
		ack         []int
		wantRemoved int
		wantLeft    []int
	}{
		{"none", nil, 0, []int{1, 2, 3, 4}},
		{"some", []int{1, 3}, 2, []int{2, 4}},
		{"all", []int{4, 2, 3, 1}, 4, nil},
		{"repeated and unknown ids are passed over", []int{2, 2, 9}, 1, []int{1, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			ob := open(t, path, Options{})
			for i := 1; i <= 4; i++ {
				if err := ob.Put(context.Background(), item(id(i), 1000), Cursor{}); err != nil {
					t.Fatal(err)
				}
			}
			before, err := ob.Stats()
			if err != nil {
				t.Fatal(err)
			}
			var del []string
			for _, i := range tt.ack {
				del = append(del, id(i))
			}
			removed, err := ob.AckMany(del...)
			if err != nil {
				t.Fatal(err)
			}
			if removed != tt.wantRemoved {
				t.Errorf("AckMany removed %d, want %d", removed, tt.wantRemoved)
			}
			recs, err := ob.Next("", 10)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tt.wantLeft {
				want = append(want, id(i))
			}
			if got := fmt.Sprint(ids(recs)); got != fmt.Sprint(want) {
				t.Errorf("left %s, want %s", got, fmt.Sprint(want))
			}
			// The counters follow, and survive a reopen.
			ob.Close()
			ob = open(t, path, Options{})
			st, err := ob.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.Depth != len(tt.wantLeft) {
				t.Errorf("Depth = %d, want %d", st.Depth, len(tt.wantLeft))
			}
			if len(tt.wantLeft) == 0 && st.Bytes != 0 {
				t.Errorf("Bytes = %d with nothing left", st.Bytes)
			}
			if tt.wantRemoved > 0 && st.Bytes >= before.Bytes {
				t.Errorf("Bytes = %d, not less than %d before", st.Bytes, before.Bytes)
			}
		})
	}
}

func TestNextSkip(t *testing.T) {
	ob := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	for i := 1; i <= 6; i++ {
		if err := ob.Put(context.Background(), item(id(i), 100), Cursor{}); err != nil {
			t.Fatal(err)
		}
	}
	skipSet := func(s ...int) func(string) bool {
		m := map[string]bool{}
		for _, i := range s {
			m[id(i)] = true
		}
		return func(k string) bool { return m[k] }
	}
	tests := []struct {
		name  string
		after string
		n     int
		skip  func(string) bool
		want  []int
	}{
		{"nil skip is Next", "", 3, nil, []int{1, 2, 3}},
		{"skipped do not count", "", 3, skipSet(1, 2, 4), []int{3, 5, 6}},
		{"after the cursor", id(2), 2, skipSet(3), []int{4, 5}},
		{"all skipped", "", 6, skipSet(1, 2, 3, 4, 5, 6), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := ob.NextSkip(tt.after, tt.n, tt.skip)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tt.want {
				want = append(want, id(i))
			}
			if got := fmt.Sprint(ids(recs)); got != fmt.Sprint(want) {
				t.Errorf("NextSkip = %s, want %s", got, fmt.Sprint(want))
			}
		})
	}
}
