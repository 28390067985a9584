package publish_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/sync/internal/testreceiver"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// benchBroker is Mosquitto when CANOPY_TEST_MQTT is set; the drain
// benchmark skips without it.
func benchBroker(b *testing.B) string {
	u := os.Getenv("CANOPY_TEST_MQTT")
	if u == "" {
		b.Skip("CANOPY_TEST_MQTT not set (the drain rate is measured against Mosquitto)")
	}
	return u
}

// BenchmarkDrain drains CANOPY_BENCH_ITEMS items (default 200) of 200 KB
// to Mosquitto over loopback, with a receiver that reassembles and
// acknowledges them, and sends the same frames with a plain paho publisher
// at QoS 1 (all published, then every PUBACK awaited) to the same subscribed
// receiver. Each iteration is one round of both, in alternating order (the
// second of two back-to-back runs finds warmer caches), after an untimed
// warm-up round; the ratio (paho time / canopy time) is the median of the
// rounds' ratios, so that a round slowed by the other jobs of a shared
// machine does not decide it. Both clocks start once connected: the
// reference connects before its clock starts, and the publisher's clock
// starts when it reports the connection (its subscription to acks and its
// status message are timed).
func BenchmarkDrain(b *testing.B) {
	broker := benchBroker(b)
	n, size := benchItems(), 200_000
	drainRound(b, broker, 10, size, false) // warm-up: connections, broker, page cache
	var canopyDur, pahoDur, pahoAckDur time.Duration
	var ratios []float64
	for i := 0; i < b.N; i++ {
		r := drainRound(b, broker, n, size, i%2 == 1)
		canopyDur += r.canopy
		pahoDur += r.paho
		pahoAckDur += r.pahoAck
		ratios = append(ratios, r.paho.Seconds()/r.canopy.Seconds())
		if os.Getenv("CANOPY_BENCH_VERBOSE") != "" {
			b.Logf("round %d: canopy %v paho %v (pubacks %v) canopy first %v", i, r.canopy, r.paho, r.pahoAck, i%2 == 1)
		}
	}
	mb := float64(b.N*n*size) / 1e6
	b.ReportMetric(float64(b.N*n)/canopyDur.Seconds(), "canopy_items/s")
	b.ReportMetric(mb/canopyDur.Seconds(), "canopy_MB/s")
	b.ReportMetric(float64(b.N*n)/pahoDur.Seconds(), "paho_items/s")
	b.ReportMetric(mb/pahoDur.Seconds(), "paho_MB/s")
	b.ReportMetric(mb/pahoAckDur.Seconds(), "paho_puback_MB/s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(slices.Min(ratios), "ratio_min")
	b.ReportMetric(slices.Max(ratios), "ratio_max")
}

type drainTimes struct{ canopy, paho, pahoAck time.Duration }

// drainRound puts n items of size bytes in a fresh outbox, then times the
// plain paho publisher and the canopy publisher on them (canopy first when
// canopyFirst), each until the receiver has every item.
func drainRound(b *testing.B, broker string, n, size int, canopyFirst bool) drainTimes {
	b.StopTimer()
	defer b.StartTimer()
	root, device := uniq("bench"), uniq("dev")
	forgetSession(b, broker, device)
	rc := testreceiver.Start(b, broker, root)
	ob := openOutbox(b, b.TempDir())
	items := make([]wire.Item, n)
	var wg sync.WaitGroup
	for j := range items {
		items[j] = newItem(b, device, j+1, size)
		wg.Add(1)
		go func() { defer wg.Done(); put(b, ob, items[j]) }()
	}
	wg.Wait()
	// The reference sends the same frames under other ids (the receiver
	// stores them apart), built before its clock starts.
	var frames [][]byte
	for _, it := range items {
		it.Meta.ItemID += "r"
		fs, err := wire.Chunk(it, wire.DefaultChunkSize)
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, fs...)
	}
	var t drainTimes
	paho := func() {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(uniq("plain")).SetOrderMatters(true))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("connect: %v", tok.Error())
		}
		defer c.Disconnect(100)
		topic := wire.Topics{Root: root}.Item(device)
		want := rc.Len() + n
		t0 := time.Now()
		toks := make([]mqtt.Token, 0, len(frames))
		for _, f := range frames {
			toks = append(toks, c.Publish(topic, 1, false, f))
		}
		for _, tok := range toks {
			if tok.Wait(); tok.Error() != nil {
				b.Fatal(tok.Error())
			}
		}
		t.pahoAck = time.Since(t0)
		if !rc.WaitLen(want, 60*time.Second) {
			b.Fatalf("reference: receiver got %d of %d", rc.Len(), want)
		}
		t.paho = time.Since(t0)
	}
	canopy := func() {
		cfg := testConfig(broker, root, device)
		cfg.ChunkSize, cfg.Window, cfg.AckTimeout = 0, benchWindow(), 30*time.Second
		p, err := publish.New(cfg, ob, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		for !p.Stats().Connected {
			time.Sleep(50 * time.Microsecond)
		}
		t0 := time.Now()
		for {
			ok, err := p.Drained()
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		t.canopy = time.Since(t0)
		cancel()
		<-done
	}
	if canopyFirst {
		canopy()
		paho()
	} else {
		paho()
		canopy()
	}
	if rc.Len() != 2*n {
		b.Fatalf("receiver stored %d, want %d", rc.Len(), 2*n)
	}
	return t
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// benchItems is how many items a drain round sends: CANOPY_BENCH_ITEMS, or
// 200.
func benchItems() int {
	n := 200
	fmt.Sscan(os.Getenv("CANOPY_BENCH_ITEMS"), &n)
	return n
}

// BenchmarkFirstPublish measures the time from opening an outbox with
// 100,000 items waiting to the first item published, against the same with
// 10 items waiting (ratio = 100k / 10; about 1 means start-up does not grow
// with the backlog).
func BenchmarkFirstPublish(b *testing.B) {
	broker := os.Getenv("CANOPY_TEST_MQTT")
	if broker == "" {
		broker = testreceiver.StartBroker(b).URL()
	}
	big, small := firstPublish(b, broker, 100_000), firstPublish(b, broker, 10)
	b.ReportMetric(float64(big.Milliseconds()), "ms_100k")
	b.ReportMetric(float64(small.Milliseconds()), "ms_10")
	b.ReportMetric(big.Seconds()/small.Seconds(), "ratio")
}

func firstPublish(b *testing.B, broker string, waiting int) time.Duration {
	b.Helper()
	b.StopTimer()
	root, device := uniq("first"), uniq("dev")
	forgetSession(b, broker, device)
	dir := b.TempDir()
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{MaxBytes: 4 << 30}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	// Concurrent puts share commits (SyncBatch), so the backlog fills fast.
	work := make(chan int)
	var wg sync.WaitGroup
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				put(b, ob, newItem(b, device, j+1, 300))
			}
		}()
	}
	for j := range waiting {
		work <- j
	}
	close(work)
	wg.Wait()
	if err := ob.Close(); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for range b.N {
		b.StartTimer()
		t0 := time.Now()
		ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{MaxBytes: 4 << 30}, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		p, err := publish.New(testConfig(broker, root, device), ob, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		for p.Stats().Published == 0 {
			time.Sleep(100 * time.Microsecond)
		}
		total += time.Since(t0)
		b.StopTimer()
		cancel()
		<-done
		_ = ob.Close()
	}
	return total / time.Duration(b.N)
}

// benchWindow is the publisher's window in BenchmarkDrain: the default, or
// CANOPY_BENCH_WINDOW to try others.
func benchWindow() int {
	var w int
	fmt.Sscan(os.Getenv("CANOPY_BENCH_WINDOW"), &w)
	return w
}
