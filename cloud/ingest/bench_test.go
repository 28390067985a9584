package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// TestBenchCloud measures ingest throughput for scripts/bench.d/cloud.sh
// (it runs only with CANOPY_BENCH_CLOUD=1: speed is measured in benchmarks,
// never asserted in tests). A device client sends N items (JPEG ~200 KB and
// a PNG mask, 128 KiB chunks, a window of 8 items in flight like the
// publisher) through Mosquitto to a receiver that stores into S3 and
// PostgreSQL, until every item is acknowledged. The reference writes the
// same objects and rows straight into S3 and PostgreSQL from one process,
// with as many goroutines as the receiver has storage workers. It prints
// one JSON line.
func TestBenchCloud(t *testing.T) {
	if os.Getenv("CANOPY_BENCH_CLOUD") == "" {
		t.Skip("set CANOPY_BENCH_CLOUD=1 to run the cloud benchmark")
	}
	mq := os.Getenv("CANOPY_TEST_MQTT")
	if mq == "" {
		t.Skip("CANOPY_TEST_MQTT is not set")
	}
	n, _ := strconv.Atoi(os.Getenv("CANOPY_BENCH_N"))
	if n <= 0 {
		n = 200
	}
	const workers = 4
	items := make([]wire.Item, n)
	total := 0
	for i := range items {
		it := testItem(t, "bench", byte(i))
		it.Parts[0].Data = noisyJPEG(t, 640, 480, uint64(i)) // about 200 KB, like a field frame
		items[i] = it
		total += it.Size()
	}
	ctx := context.Background()

	// Reference: straight writes, same objects and rows.
	refStore := blobtest.S3(t)
	refDB, err := db.Open(ctx, dbtest.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer refDB.Close()
	ref := NewSaver(refStore, refDB, ImageLimits{})
	var objs [][]object
	var rows []db.Image
	for _, it := range items {
		img, o, err := ref.check(it, SaveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rows, objs = append(rows, img), append(objs, o)
	}
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				for _, o := range objs[i] {
					if err := refStore.Put(ctx, blob.Raw, o.key, o.data, o.contentType); err != nil {
						t.Error(err)
					}
				}
				if _, err := refDB.PutImage(ctx, rows[i]); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	refSecs := time.Since(start).Seconds()

	// Through the broker and the receiver.
	d, err := db.Open(ctx, dbtest.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	topics := wire.Topics{Root: fmt.Sprintf("bench-%d", time.Now().UnixNano())}
	e := suiteEnv{broker: mq, topics: topics, blobs: blobtest.S3(t), db: d}
	rid := fmt.Sprintf("bench-recv-%d", time.Now().UnixNano())
	defer forgetSession(mq, rid)
	r, err := NewReceiver(Config{Broker: mq, ClientID: rid, Topics: topics,
		ShareGroup: "bench", Workers: workers}, NewSaver(e.blobs, d, ImageLimits{}), d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	<-r.Subscribed()
	dev := newDevice(t, mq, topics, "bench")
	frames := make([][][]byte, n)
	for i, it := range items {
		if frames[i], err = wire.Chunk(it, wire.DefaultChunkSize); err != nil {
			t.Fatal(err)
		}
	}
	start = time.Now()
	const window = 8
	inflight, acked := 0, 0
	for i := 0; acked < n; {
		for inflight < window && i < n {
			dev.sendFrames(frames[i])
			i++
			inflight++
		}
		select {
		case a := <-dev.acks:
			if a.Status != wire.AckStored {
				t.Fatalf("ack %+v", a)
			}
			acked++
			inflight--
		case <-time.After(60 * time.Second):
			t.Fatalf("no ack within 60 s (%d of %d acked)", acked, n)
		}
	}
	secs := time.Since(start).Seconds()
	out, _ := json.Marshal(map[string]any{
		"items": n, "mb": float64(total) / 1e6, "avg_item_kb": float64(total) / float64(n) / 1e3,
		"ingest_items_per_s": float64(n) / secs, "ingest_mb_per_s": float64(total) / 1e6 / secs,
		"direct_items_per_s": float64(n) / refSecs, "direct_mb_per_s": float64(total) / 1e6 / refSecs,
		"ratio": refSecs / secs, "workers": workers,
	})
	fmt.Printf("BENCH %s\n", out)
}

func noisyJPEG(t testing.TB, w, h int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
