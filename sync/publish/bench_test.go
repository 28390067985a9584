package publish_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

// BenchmarkDrain drains 100 items of 200 KB to Mosquitto over loopback,
// with a receiver that reassembles and acknowledges them, and in the same
// run sends the same frames with a plain paho publisher at QoS 1 (all
// published, then every PUBACK awaited) to the same subscribed receiver.
// It reports both rates and their ratio (canopy / paho).
func BenchmarkDrain(b *testing.B) {
	broker := benchBroker(b)
	const n, size = 100, 200_000
	var canopyDur, pahoDur, pahoAckDur time.Duration
	for i := 0; i < b.N; i++ {
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

		// The reference: a plain paho publisher, the same frames.
		var frames [][]byte
		for _, it := range items {
			it.Meta.ItemID += "r" // a different id: the receiver stores them apart
			fs, err := wire.Chunk(it, wire.DefaultChunkSize)
			if err != nil {
				b.Fatal(err)
			}
			frames = append(frames, fs...)
		}
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(uniq("plain")).SetOrderMatters(true))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("connect: %v", tok.Error())
		}
		topic := wire.Topics{Root: root}.Item(device)
		b.StartTimer()
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
		pahoAckDur += time.Since(t0)
		if !rc.WaitLen(n, 60*time.Second) {
			b.Fatalf("reference: receiver got %d of %d", rc.Len(), n)
		}
		pahoDur += time.Since(t0)
		c.Disconnect(100)

		// Canopy: from Run to every item acknowledged and out of the outbox.
		cfg := testConfig(broker, root, device)
		cfg.ChunkSize, cfg.Window, cfg.AckTimeout = 0, benchWindow(), 30*time.Second
		p, err := publish.New(cfg, ob, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		t0 = time.Now()
		go func() { done <- p.Run(ctx) }()
		for {
			ok, err := p.Drained()
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				break
			}
			time.Sleep(time.Millisecond)
		}
		canopyDur += time.Since(t0)
		b.StopTimer()
		cancel()
		<-done
		if rc.Len() != 2*n {
			b.Fatalf("receiver stored %d, want %d", rc.Len(), 2*n)
		}
	}
	mb := float64(b.N*n*size) / 1e6
	b.ReportMetric(float64(b.N*n)/canopyDur.Seconds(), "canopy_items/s")
	b.ReportMetric(mb/canopyDur.Seconds(), "canopy_MB/s")
	b.ReportMetric(float64(b.N*n)/pahoDur.Seconds(), "paho_items/s")
	b.ReportMetric(mb/pahoDur.Seconds(), "paho_MB/s")
	b.ReportMetric(mb/pahoAckDur.Seconds(), "paho_puback_MB/s")
	b.ReportMetric(pahoDur.Seconds()/canopyDur.Seconds(), "ratio")
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
