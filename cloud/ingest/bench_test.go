package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Settings of the cloud benchmarks: the receiver's storage workers, and as
// many goroutines for the straight writes; the rounds alternate the two
// paths so that the machine's load drifts over both alike.
const (
	benchWorkers = 4
	benchRounds  = 8
)

// TestBenchCloud measures ingest throughput for scripts/bench.d/cloud.sh
// (it runs only with CANOPY_BENCH_CLOUD=1: speed is measured in benchmarks,
// never asserted in tests). Four device clients send their items (JPEG
// ~200 KB and a PNG mask, 128 KiB chunks, each device with the agent's
// window of 8 items in flight, frames published without waiting for each
// PUBACK, as sync/publish does) through Mosquitto to a receiver that
// stores into S3 and PostgreSQL, until every item is acknowledged. The
// reference writes the same objects and rows straight into S3 and
// PostgreSQL from one process, with as many goroutines as the receiver has
// storage workers. The two alternate over benchRounds rounds of N/rounds
// items; it prints one JSON line with the totals. It does so twice: with
// frames of 128 KiB (wire.DefaultChunkSize, the AWS IoT Core limit: a
// 200 KB item takes two), and with frames of 1 MiB, as a device may send
// where the broker allows (Mosquitto, the embedded broker: one frame an
// item), each on items of its own.
func TestBenchCloud(t *testing.T) {
	if os.Getenv("CANOPY_BENCH_CLOUD") == "" {
		t.Skip("set CANOPY_BENCH_CLOUD=1 to run the cloud benchmark")
	}
	mq := os.Getenv("CANOPY_TEST_MQTT")
	if mq == "" {
		t.Skip("CANOPY_TEST_MQTT is not set")
	}
	n := benchN()
	const devices, window = 4, 8
	ctx := context.Background()
	direct := newDirectWriter(t)

	d, err := db.Open(ctx, dbtest.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	topics := wire.Topics{Root: fmt.Sprintf("bench-%d", time.Now().UnixNano())}
	store := blobtest.S3(t)
	r, err := NewReceiver(Config{Broker: mq, Topics: topics, ShareGroup: "bench", Workers: benchWorkers},
		NewSaver(store, d, ImageLimits{}), d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	<-r.Subscribed()
	devs := make([]*device, devices)
	for k := range devs {
		devs[k] = newDevice(t, mq, topics, fmt.Sprintf("bench-%d", k))
	}
	for _, frame := range []struct {
		path string
		size int
	}{{"mqtt", wire.DefaultChunkSize}, {"mqtt_1mib", 1 << 20}} {
		items, total := benchItems(t, n, func(i int) string { return fmt.Sprintf("bench-%d", i%devices) })
		// The frames are made before the clock starts, as a device's
		// outbox stores them.
		framesOf := map[string][][]byte{}
		for _, it := range items {
			fs, err := wire.Chunk(it, frame.size)
			if err != nil {
				t.Fatal(err)
			}
			framesOf[it.Meta.ItemID] = fs
		}
		ingest := func(batch []wire.Item) {
			var sent sync.WaitGroup
			for _, dev := range devs {
				var mine [][][]byte
				for _, it := range batch {
					if it.Meta.Device == dev.id {
						mine = append(mine, framesOf[it.Meta.ItemID])
					}
				}
				sent.Go(func() { dev.sendWindow(t, topics, mine, window) })
			}
			sent.Wait()
		}
		ref, under := alternate(items, direct.write, ingest)
		printBench(merge(map[string]any{
			"path": frame.path, "frame_kib": frame.size >> 10, "items": n, "mb": float64(total) / 1e6, "avg_item_kb": float64(total) / float64(n) / 1e3,
			"ratio": ratio(ref, under), "workers": benchWorkers, "devices": devices, "window": window, "rounds": benchRounds,
		}, under.Rates("ingest"), ref.Rates("direct")))
	}
}

// sendWindow sends items (each as its frames) keeping window of them in
// flight until every one is acknowledged.
func (d *device) sendWindow(t *testing.T, topics wire.Topics, items [][][]byte, window int) {
	inflight := 0
	for i := 0; i < len(items) || inflight > 0; {
		for inflight < window && i < len(items) {
			// As sync/publish does: frames go out without waiting for
			// each PUBACK (the broker's flow control bounds them).
			for _, f := range items[i] {
				d.client.Publish(topics.Item(d.id), 1, false, f)
			}
			i++
			inflight++
		}
		select {
		case a := <-d.acks:
			if a.Status != wire.AckStored {
				t.Errorf("ack %+v", a)
				return
			}
			inflight--
		case <-time.After(60 * time.Second):
			t.Errorf("%s: no ack within 60 s", d.id)
			return
		}
	}
}

// alternate runs the reference and the path under test on alternating
// halves of batches of items (reference first in even rounds, second in odd
// ones) and returns what each side took and did in all: each side carries
// only half of the items, so rates are over its own items and bytes.
func alternate(items []wire.Item, reference, path func([]wire.Item)) (ref, under side) {
	per := (len(items) + benchRounds - 1) / benchRounds
	for r := 0; r < benchRounds; r++ {
		lo, hi := r*per, min((r+1)*per, len(items))
		if lo >= hi {
			break
		}
		half := lo + (hi-lo)/2
		a, b := items[lo:half], items[half:hi]
		if r%2 == 0 {
			ref.run(reference, a)
			under.run(path, b)
		} else {
			under.run(path, a)
			ref.run(reference, b)
		}
	}
	return ref, under
}

// side is what one side of alternate took: seconds, items and bytes, in
// all and in each round (bytes a second).
type side struct {
	secs         float64
	items, bytes int
	rates        []float64
}

func (s *side) run(f func([]wire.Item), batch []wire.Item) {
	start := time.Now()
	f(batch)
	secs := time.Since(start).Seconds()
	s.secs += secs
	s.items += len(batch)
	n := 0
	for _, it := range batch {
		n += it.Size()
	}
	s.bytes += n
	s.rates = append(s.rates, float64(n)/secs)
}

// Rates gives a side's items/s and MB/s under the given key prefix.
func (s side) Rates(prefix string) map[string]any {
	return map[string]any{prefix + "_items_per_s": float64(s.items) / s.secs, prefix + "_mb_per_s": float64(s.bytes) / 1e6 / s.secs}
}

// ratio is the median over the rounds of the path's rate over the
// reference's in the same round (bytes a second, so that halves of unequal
// size compare fairly): a round that the machine's other jobs slowed on
// one side does not decide it.
func ratio(ref, under side) float64 {
	rs := make([]float64, 0, len(ref.rates))
	for i := range min(len(ref.rates), len(under.rates)) {
		rs = append(rs, under.rates[i]/ref.rates[i])
	}
	slices.Sort(rs)
	if len(rs) == 0 {
		return 0
	}
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
}

// directWriter is the reference: the objects and rows of items written
// straight into S3 and PostgreSQL by benchWorkers goroutines.
type directWriter struct {
	t     *testing.T
	store blob.Store
	db    *db.DB
	saver *Saver
	opts  func(wire.Item) SaveOptions // nil: device items
}

func newDirectWriter(t *testing.T) *directWriter {
	d, err := db.Open(context.Background(), dbtest.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	store := blobtest.S3(t)
	return &directWriter{t: t, store: store, db: d, saver: NewSaver(store, d, ImageLimits{})}
}

func (w *directWriter) write(items []wire.Item) {
	ctx := context.Background()
	type plan struct {
		row  db.Image
		objs []object
	}
	plans := make([]plan, len(items))
	for i, it := range items { // not timed in a real system either: the bytes are in hand
		o := SaveOptions{}
		if w.opts != nil {
			o = w.opts(it)
		}
		row, objs, err := w.saver.check(it, o)
		if err != nil {
			w.t.Fatal(err)
		}
		plans[i] = plan{row, objs}
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range benchWorkers {
		wg.Go(func() {
			for i := range next {
				for _, o := range plans[i].objs {
					if err := w.store.Put(ctx, blob.Raw, o.key, o.data, o.contentType); err != nil {
						w.t.Error(err)
					}
				}
				if _, err := w.db.PutImage(ctx, plans[i].row); err != nil {
					w.t.Error(err)
				}
			}
		})
	}
	for i := range plans {
		next <- i
	}
	close(next)
	wg.Wait()
}

func benchN() int {
	n, _ := strconv.Atoi(os.Getenv("CANOPY_BENCH_N"))
	if n <= 0 {
		n = 400
	}
	return n
}

// benchItems makes n items of about 200 KB (a noise JPEG of 640x480, like a
// field frame, and a mask), item i of device(i).
func benchItems(t *testing.T, n int, device func(i int) string) ([]wire.Item, int) {
	items := make([]wire.Item, n)
	total := 0
	for i := range items {
		it := testItem(t, device(i), byte(i))
		it.Parts[0].Data = noisyJPEG(t, 640, 480, benchSeed.Add(1)) // new content each call
		items[i] = it
		total += it.Size()
	}
	return items, total
}

var benchSeed atomic.Uint64

func printBench(m map[string]any) {
	out, _ := json.Marshal(m)
	fmt.Printf("BENCH %s\n", out)
}

// merge returns the union of maps (later keys win).
func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// What the benchmark of the compat input (cloud/compat, in package
// ingest_test to avoid an import cycle) shares with TestBenchCloud.
var (
	BenchN         = benchN
	BenchItems     = benchItems
	BenchAlternate = alternate
	PrintBench     = printBench
	BenchRatio     = ratio
	BenchMerge     = merge
	BenchWorkers   = benchWorkers
	BenchRounds    = benchRounds
)

// BenchDirect is the reference writer of the benchmarks, with the save
// options of each item.
func BenchDirect(t *testing.T, opts func(wire.Item) SaveOptions) func([]wire.Item) {
	w := newDirectWriter(t)
	w.opts = opts
	return w.write
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
