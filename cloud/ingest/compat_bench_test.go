package ingest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/compat"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// TestBenchCompat measures the compatibility path for
// scripts/bench.d/cloud.sh (only with CANOPY_BENCH_CLOUD=1): the original
// design's JSON messages (the image in base64) published to a RabbitMQ
// queue and stored by the compat AMQP input (ingest.BenchWorkers at once),
// against writing the same objects and rows straight into S3 and
// PostgreSQL, alternating over rounds as TestBenchCloud does. Timed from
// the first message published to the last one stored.
func TestBenchCompat(t *testing.T) {
	if os.Getenv("CANOPY_BENCH_CLOUD") == "" {
		t.Skip("set CANOPY_BENCH_CLOUD=1 to run the cloud benchmark")
	}
	url := os.Getenv("CANOPY_TEST_AMQP")
	if url == "" {
		t.Skip("CANOPY_TEST_AMQP is not set")
	}
	n := ingest.BenchN()
	devItems, _ := ingest.BenchItems(t, n, func(int) string { return "bench" })
	now := time.Now()
	msgs := make([][]byte, n)
	items := make([]wire.Item, n)
	total := 0
	for i, it := range devItems {
		m := compat.Message{Image: it.Parts[0].Data, Name: fmt.Sprintf("plot-%d.jpg", i)}
		items[i] = compat.Item(m, now)
		msgs[i] = compatJSON(m)
		total += len(m.Image)
	}
	direct := ingest.BenchDirect(t, compat.SaveOptions)

	ctx := context.Background()
	d, err := db.Open(ctx, dbtest.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	metrics := ingest.NewMetrics(nil)
	h := &compat.Handler{Saver: ingest.NewSaver(blobtest.S3(t), d, ingest.ImageLimits{}), Metrics: metrics, Now: func() time.Time { return now }}
	queue := fmt.Sprintf("bench.compat.%d", time.Now().UnixNano())
	in, err := compat.NewAMQP(compat.AMQPConfig{URL: url, Queue: queue, Workers: ingest.BenchWorkers}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ch.QueueDelete(queue, false, false, false)
		ch.QueueDelete(compat.DeadLetterQueue(queue), false, false, false)
	}()
	if err := compat.Declare(ch, queue); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- in.Run(rctx) }()
	defer func() { cancel(); <-done }()
	index := map[string]int{}
	for i, it := range items {
		index[it.Meta.ItemID] = i
	}
	stored := 0.0
	viaQueue := func(batch []wire.Item) {
		for _, it := range batch {
			if err := ch.PublishWithContext(ctx, "", queue, false, false, amqp.Publishing{Body: msgs[index[it.Meta.ItemID]], DeliveryMode: amqp.Persistent}); err != nil {
				t.Fatal(err)
			}
		}
		want := stored + float64(len(batch))
		deadline := time.Now().Add(2 * time.Minute)
		for testutil.ToFloat64(metrics.Stored.WithLabelValues("amqp")) < want {
			if time.Now().After(deadline) {
				t.Fatalf("compat: %v of %v stored in 2 minutes", testutil.ToFloat64(metrics.Stored.WithLabelValues("amqp")), want)
			}
			time.Sleep(2 * time.Millisecond)
		}
		stored = want
	}
	ref, under := ingest.BenchAlternate(items, direct, viaQueue)
	// The broker alone: the same messages published and consumed (acked at
	// once, nothing stored), with the input's prefetch.
	bareSecs := bareRabbitMQ(t, url, msgs)
	rates := under.Rates("ingest")
	broker := float64(n) / bareSecs
	ingest.PrintBench(ingest.BenchMerge(map[string]any{
		"path": "compat_amqp", "items": n, "mb": float64(total) / 1e6, "avg_item_kb": float64(total) / float64(n) / 1e3,
		"ratio": ingest.BenchRatio(ref, under), "workers": ingest.BenchWorkers, "rounds": ingest.BenchRounds,
		"broker_items_per_s": broker, "ratio_to_broker": rates["ingest_items_per_s"].(float64) / broker,
	}, rates, ref.Rates("direct")))
}

// bareRabbitMQ publishes msgs to a queue of their own and consumes them
// with the compat input's prefetch, acking each at once; it returns the
// seconds from the first publish to the last ack.
func bareRabbitMQ(t *testing.T, url string, msgs [][]byte) float64 {
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pub, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	queue := fmt.Sprintf("bench.bare.%d", time.Now().UnixNano())
	if _, err := pub.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer pub.QueueDelete(queue, false, false, false)
	sub, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Qos(8, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := sub.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() {
		for _, m := range msgs {
			if err := pub.PublishWithContext(context.Background(), "", queue, false, false, amqp.Publishing{Body: m, DeliveryMode: amqp.Persistent}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range msgs {
		select {
		case d := <-deliveries:
			d.Ack(false)
		case <-time.After(time.Minute):
			t.Fatal("bare RabbitMQ: no delivery within a minute")
		}
	}
	return time.Since(start).Seconds()
}

// compatJSON is m as the original design's producers send it.
func compatJSON(m compat.Message) []byte {
	type meta struct {
		ImageName string `json:"image_name"`
	}
	b, _ := json.Marshal(struct {
		Image string `json:"image"`
		Meta  meta   `json:"image_metadata"`
	}{base64.StdEncoding.EncodeToString(m.Image), meta{m.Name}})
	return b
}
