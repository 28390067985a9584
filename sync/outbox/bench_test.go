package outbox

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Benchmarks of the outbox against bare bbolt with the same fsync policy on
// the same disk; scripts/bench.d/outbox.sh turns them into ratios.

const (
	benchItemBytes = 200_000
	// benchWriters is the number of goroutines that Put at once in the
	// batch benchmarks (both the outbox and bare bbolt's db.Batch).
	benchWriters = 8
)

var benchSeq atomic.Int64

func benchID() string { return fmt.Sprintf("01J%023d", benchSeq.Add(1)) }

func BenchmarkPut(b *testing.B) {
	for _, mode := range []SyncMode{SyncAlways, SyncBatch} {
		b.Run("mode="+string(mode), func(b *testing.B) {
			ob, err := Open(filepath.Join(b.TempDir(), "outbox.db"), Options{Sync: mode, MaxBytes: 1 << 40}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ob.Close()
			it := item(benchID(), benchItemBytes)
			b.SetBytes(int64(it.Size()))
			put := func() {
				it := it
				it.Meta.ItemID = benchID()
				if err := ob.Put(context.Background(), it, Cursor{Source: "bench", Position: it.Meta.ItemID}); err != nil {
					b.Error(err)
				}
			}
			b.ResetTimer()
			if mode == SyncAlways {
				for b.Loop() {
					put()
				}
				return
			}
			b.SetParallelism(max(1, benchWriters/max(1, testingProcs())))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					put()
				}
			})
		})
	}
}

// BenchmarkBolt is the reference: bare bbolt puts of a value of the same
// size, one Update per put (like SyncAlways) or db.Batch from as many
// goroutines with the same window (like SyncBatch). Both fsync every commit.
func BenchmarkBolt(b *testing.B) {
	for _, mode := range []SyncMode{SyncAlways, SyncBatch} {
		b.Run("mode="+string(mode), func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "bolt.db"), 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.MaxBatchDelay = DefaultBatchWindow
			db.MaxBatchSize = DefaultMaxBatch
			if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
				b.Fatal(err)
			}
			val := make([]byte, benchItemBytes)
			b.SetBytes(benchItemBytes)
			put := func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(benchID()), val) }
			b.ResetTimer()
			if mode == SyncAlways {
				for b.Loop() {
					if err := db.Update(put); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism(max(1, benchWriters/max(1, testingProcs())))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := db.Batch(put); err != nil {
						b.Error(err)
					}
				}
			})
		})
	}
}

// BenchmarkOpen measures start-up with n items waiting: Open, Stats and the
// first Next (what the publisher does before its first publish), then
// Close.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "outbox.db")
			fill(b, path, n)
			b.ResetTimer()
			for b.Loop() {
				ob, err := Open(path, Options{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				st, err := ob.Stats()
				if err != nil || st.Depth != n {
					b.Fatalf("Stats = %+v, %v; want depth %d", st, err, n)
				}
				if recs, err := ob.Next("", 1); err != nil || len(recs) != 1 {
					b.Fatalf("Next = %d records, %v", len(recs), err)
				}
				ob.Close()
			}
		})
	}
}

// fill writes n items of 1 KB in transactions of 5000.
func fill(b *testing.B, path string, n int) {
	ob, err := Open(path, Options{Sync: SyncAlways, MaxBytes: 1 << 40}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ob.Close()
	start := time.Now()
	for i := 0; i < n; {
		var reqs []*putReq
		for ; i < n && len(reqs) < 5000; i++ {
			r, err := ob.prepare(item(fmt.Sprintf("01J%023d", i), 1000), Cursor{})
			if err != nil {
				b.Fatal(err)
			}
			reqs = append(reqs, r)
		}
		ob.commit(reqs)
		for _, r := range reqs {
			if r.err != nil {
				b.Fatal(r.err)
			}
		}
	}
	b.Logf("filled %d items in %v", n, time.Since(start).Round(time.Millisecond))
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
