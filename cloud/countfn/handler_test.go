package countfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/cloud/countfn"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/cloud/worker"
	"github.com/canopy-forest/canopy/sync/wire"
)

// fakeCounter finds two boxes whose size depends on the image's width, and
// counts its calls.
type fakeCounter struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeCounter) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	w := float64(img.Bounds().Dx())
	return count.Result{Count: 2, Boxes: []count.Box{{XMin: 1, YMin: 1, XMax: w / 4, YMax: 9, Score: 0.9}, {XMin: w / 2, YMin: 4, XMax: w - 2, YMax: 20, Score: 0.6}},
		Info: f.Info()}, nil
}
func (f *fakeCounter) Info() count.Info { return count.Info{Method: "fake", Model: "fake-1"} }
func (f *fakeCounter) Close() error     { return nil }

func (f *fakeCounter) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// env is one backend: a database, a blob store and the raw bucket's name.
type env struct {
	d     *db.DB
	blobs blob.Store
	raw   string
	saver *ingest.Saver
}

// backends runs f on the embedded setup (SQLite, blob folder) and on the
// real services of the test suite (PostgreSQL, the S3 server), when set.
func backends(t *testing.T, f func(t *testing.T, e env)) {
	t.Run("sqlite+folder", func(t *testing.T) {
		d := dbtest.SQLite(t)
		bs := blobtest.Local(t)
		f(t, env{d: d, blobs: bs, raw: blob.Raw, saver: ingest.NewSaver(bs, d, ingest.ImageLimits{})})
	})
	t.Run("postgres+s3", func(t *testing.T) {
		d := dbtest.PostgresSchema(t)
		bs := blobtest.S3With(t, blobtest.S3Config(t))
		f(t, env{d: d, blobs: bs, raw: bs.Bucket(blob.Raw), saver: ingest.NewSaver(bs, d, ingest.ImageLimits{})})
	})
}

var idSeq struct {
	sync.Mutex
	n int
}

// store stores a device item the way the receivers do (objects, then the
// row) and returns its row.
func (e env) store(t *testing.T, seed byte) db.Image {
	t.Helper()
	saved, err := e.saver.Save(t.Context(), item(t, seed), ingest.SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return saved.Image
}

func item(t *testing.T, seed byte) wire.Item {
	t.Helper()
	idSeq.Lock()
	idSeq.n++
	n := idSeq.n
	idSeq.Unlock()
	return wire.Item{
		Meta: wire.Meta{
			ItemID: fmt.Sprintf("L%dN%d", time.Now().UnixNano(), n), Device: "drone-7", Seq: uint64(n),
			CapturedAt: time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC), ClockSynced: true,
			Width: 128, Height: 96, ForestShare: 0.4, Segmenter: "classical", ScanID: "scan-l",
		},
		Parts: []wire.Part{
			{Name: wire.PartImage, ContentType: "image/jpeg", Data: forestJPEG(t, seed)},
			{Name: wire.PartMask, ContentType: "image/png", Data: maskPNG(t)},
		},
	}
}

// forestJPEG is a 128x96 image of green crowns on brown ground.
func forestJPEG(t *testing.T, seed byte) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 128, 96))
	for y := range 96 {
		for x := range 128 {
			c := color.RGBA{120, 100, 80, 255}
			for i := range 5 {
				cx, cy, r := 15+i*25, 20+(i*37+int(seed))%60, 9+i%3
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) < r*r {
					c = color.RGBA{40, 110 + uint8(i*10), 35, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func maskPNG(t *testing.T) []byte {
	m := image.NewGray(image.Rect(0, 0, 128, 96))
	for i := range m.Pix {
		if i%3 == 0 {
			m.Pix[i] = 255
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// payload renders a recorded event (testdata/NAME) for this test's bucket
// and objects.
type names struct {
	Bucket, Image, Mask, Meta, Image2 string
}

func payload(t *testing.T, name string, n names) json.RawMessage {
	t.Helper()
	tpl, err := template.ParseFiles(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, n); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func namesOf(e env, img db.Image) names {
	prefix := strings.TrimSuffix(img.RawKey, "image.jpg")
	return names{Bucket: e.raw, Image: img.RawKey, Mask: prefix + "mask.png", Meta: prefix + "meta.json"}
}

func newHandler(e env, c count.Counter) *countfn.Handler {
	p := worker.New(worker.Config{}, e.d, e.blobs, c, nil)
	return countfn.New(countfn.Config{RawBucket: e.raw}, e.d, p, nil)
}

func invoke(t *testing.T, h *countfn.Handler, p json.RawMessage) (countfn.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a Lambda invocation has a deadline
	defer cancel()
	out, err := h.Invoke(ctx, p)
	r, _ := out.(countfn.Result)
	return r, err
}

func counted(t *testing.T, e env, itemID string) db.Image {
	t.Helper()
	img, err := e.d.GetImage(t.Context(), itemID)
	if err != nil {
		t.Fatal(err)
	}
	if img.State != db.StateCounted || img.Count == nil {
		t.Fatalf("image %s: state %q, count %v; want counted", itemID, img.State, img.Count)
	}
	for _, k := range []string{img.Count.AnnotatedKey, img.Count.MaskKey} {
		if ok, err := e.blobs.Exists(t.Context(), blob.Processed, k); err != nil || !ok {
			t.Errorf("processed object %s: exists %v, %v", k, ok, err)
		}
	}
	return img
}

// An S3 notification with the image, the mask and meta.json of an item
// counts the image once; the same notification again changes nothing.
func TestS3Event(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		img := e.store(t, 1)
		fc := &fakeCounter{}
		h := newHandler(e, fc)
		p := payload(t, "s3-put.json", namesOf(e, img))
		r, err := invoke(t, h, p)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if want := (countfn.Result{Counted: 1, Ignored: 2}); r != want {
			t.Errorf("result %+v, want %+v", r, want)
		}
		first := counted(t, e, img.ItemID)
		if first.Count.Count != 2 || first.Count.Method != "fake" {
			t.Errorf("count %+v, want 2 by fake", first.Count)
		}
		// Redelivered (S3 delivers at least once): not counted again.
		for range 2 {
			r, err = invoke(t, h, p)
			if err != nil {
				t.Fatalf("Invoke again: %v", err)
			}
			if want := (countfn.Result{AlreadyCounted: 1, Ignored: 2}); r != want {
				t.Errorf("redelivery: result %+v, want %+v", r, want)
			}
		}
		if fc.n() != 1 {
			t.Errorf("counter ran %d times, want 1", fc.n())
		}
		again := counted(t, e, img.ItemID)
		if !again.Count.CountedAt.Equal(first.Count.CountedAt) {
			t.Errorf("redelivery rewrote the count (counted at %v, then %v)", first.Count.CountedAt, again.Count.CountedAt)
		}
	})
}

// An SQS batch: an S3 notification, S3's test message and an SNS message
// carrying a notification; a message about an object whose row is not
// there yet is reported for retry, and the others are not.
func TestSQSEvent(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		a, b := e.store(t, 2), e.store(t, 3)
		fc := &fakeCounter{}
		h := newHandler(e, fc)
		n := namesOf(e, a)
		n.Image2 = b.RawKey
		out, err := h.Invoke(t.Context(), payload(t, "sqs-batch.json", n))
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		resp, ok := out.(events.SQSEventResponse)
		if !ok || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("response %#v, want an SQSEventResponse without failures", out)
		}
		counted(t, e, a.ItemID)
		counted(t, e, b.ItemID)

		// The objects of an item arrive before its row.
		orphan := item(t, 4)
		key := blob.Key(orphan.Meta.Device, orphan.Meta.CapturedAt, orphan.Meta.ItemID, "image.jpg")
		if err := e.blobs.Put(t.Context(), blob.Raw, key, orphan.Parts[0].Data, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		n.Image2 = key // the SNS message
		out, err = h.Invoke(t.Context(), payload(t, "sqs-batch.json", n))
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		resp = out.(events.SQSEventResponse)
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c03" {
			t.Errorf("failures %+v, want the SNS message only", resp.BatchItemFailures)
		}
		// Once the receiver has written the row, the retried message counts it.
		if _, err := e.saver.Save(t.Context(), orphan, ingest.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		out, _ = h.Invoke(t.Context(), payload(t, "sqs-batch.json", n))
		if resp = out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
			t.Errorf("retry: failures %+v, want none", resp.BatchItemFailures)
		}
		counted(t, e, orphan.Meta.ItemID)
		if fc.n() != 3 {
			t.Errorf("counter ran %d times for 3 images", fc.n())
		}
	})
}

// EventBridge's "Object Created" names one object, its key not encoded.
func TestEventBridgeEvent(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		img := e.store(t, 5)
		h := newHandler(e, &fakeCounter{})
		r, err := invoke(t, h, payload(t, "eventbridge-object-created.json", namesOf(e, img)))
		if err != nil || r != (countfn.Result{Counted: 1}) {
			t.Fatalf("Invoke: %+v, %v; want one counted", r, err)
		}
		counted(t, e, img.ItemID)
	})
}

// Two deliveries of one notification at once: one counts, the other is
// told to retry (another worker holds the job); the retry finds it counted.
func TestConcurrentRedelivery(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		img := e.store(t, 6)
		// A worker (an in-process one, or another invocation) holds the job.
		if _, claimed, err := e.d.ClaimItemJob(t.Context(), img.ItemID, "serve-worker-0", time.Minute); err != nil || !claimed {
			t.Fatal(claimed, err)
		}
		fc := &fakeCounter{}
		h := newHandler(e, fc)
		p := payload(t, "eventbridge-object-created.json", namesOf(e, img))
		_, err := invoke(t, h, p)
		var busy *countfn.BusyError
		if !errors.As(err, &busy) || busy.Worker != "serve-worker-0" {
			t.Fatalf("Invoke while another worker holds the job: %v, want a BusyError naming it", err)
		}
		if fc.n() != 0 {
			t.Fatal("counted while another worker held the job")
		}
		// That worker finishes; the retried event finds the image counted.
		job, _, _ := e.d.ClaimItemJob(t.Context(), img.ItemID, "probe", time.Minute)
		if err := e.d.CompleteJob(t.Context(), job.ID, db.CountRecord{Count: 7, Method: "classical"}); err != nil {
			t.Fatal(err)
		}
		r, err := invoke(t, h, p)
		if err != nil || r != (countfn.Result{AlreadyCounted: 1}) {
			t.Errorf("retry: %+v, %v; want already counted", r, err)
		}
		if fc.n() != 0 {
			t.Error("counted again")
		}
	})
}

// An image that does not decode: each delivery is an attempt that fails
// (and asks for a retry) until the last allowed one; then it is left alone.
func TestCorruptImage(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		e.d.SetJobPolicy(db.JobPolicy{MaxAttempts: 2, Backoff: time.Hour, MaxBackoff: time.Hour})
		img := e.store(t, 7)
		if err := e.blobs.Put(t.Context(), blob.Raw, img.RawKey, []byte("not a JPEG"), "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		h := newHandler(e, &fakeCounter{})
		p := payload(t, "eventbridge-object-created.json", namesOf(e, img))
		for attempt := 1; attempt <= 2; attempt++ {
			if _, err := invoke(t, h, p); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("attempt %d", attempt)) {
				t.Fatalf("delivery %d: %v, want a failed attempt %d", attempt, err, attempt)
			}
		}
		got, _ := e.d.GetImage(t.Context(), img.ItemID)
		if got.State != db.StateFailed {
			t.Fatalf("image state %q, want failed", got.State)
		}
		r, err := invoke(t, h, p)
		if err != nil || r != (countfn.Result{Failed: 1}) {
			t.Errorf("delivery after the last attempt: %+v, %v; want failed, no error", r, err)
		}
	})
}

// A scheduled event sweeps the queue: the jobs no notification brought.
func TestSweep(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		var ids []string
		for i := range 3 {
			ids = append(ids, e.store(t, byte(10+i)).ItemID)
		}
		fc := &fakeCounter{}
		h := newHandler(e, fc)
		r, err := invoke(t, h, payload(t, "scheduled.json", names{}))
		if err != nil || r.Swept != 3 || r.SweepErrors != 0 {
			t.Fatalf("sweep: %+v, %v; want 3 swept", r, err)
		}
		for _, id := range ids {
			counted(t, e, id)
		}
		if r, err = invoke(t, h, json.RawMessage(`{"action": "sweep"}`)); err != nil || r.Swept != 0 {
			t.Errorf("second sweep: %+v, %v; want nothing to do", r, err)
		}
	})
}

// Notifications about other buckets, other objects and other kinds of event.
func TestIgnoredAndUnknown(t *testing.T) {
	d := dbtest.SQLite(t)
	bs := blobtest.Local(t)
	e := env{d: d, blobs: bs, raw: blob.Raw, saver: ingest.NewSaver(bs, d, ingest.ImageLimits{})}
	h := newHandler(e, &fakeCounter{})
	img := e.store(t, 20)
	other := namesOf(e, img)
	other.Bucket = "someone-elses"
	if r, err := invoke(t, h, payload(t, "s3-put.json", other)); err != nil || r != (countfn.Result{Ignored: 3}) {
		t.Errorf("other bucket: %+v, %v; want 3 ignored", r, err)
	}
	for name, p := range map[string]string{
		"not JSON":       `nope`,
		"empty object":   `{}`,
		"DynamoDB":       `{"Records":[{"eventSource":"aws:dynamodb"}]}`,
		"EC2 via Events": `{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`,
	} {
		if _, err := h.Invoke(t.Context(), json.RawMessage(p)); !errors.Is(err, countfn.ErrUnknownEvent) {
			t.Errorf("%s: %v, want ErrUnknownEvent", name, err)
		}
	}
	got, _ := d.GetImage(t.Context(), img.ItemID)
	if got.State != db.StateStored {
		t.Errorf("state %q after ignored events, want stored", got.State)
	}
}

// The function records exactly what an in-process worker records for the
// same image: the same count, boxes, method, model and processed objects.
// With the onnx tag and the shipped model, the counter is the real one.
func TestSameAsInProcessWorker(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		c := counter(t)
		a, b := e.store(t, 30), e.store(t, 30) // the same image, twice
		p := worker.New(worker.Config{}, e.d, e.blobs, c, nil)
		job, claimed, err := e.d.ClaimItemJob(t.Context(), a.ItemID, "serve-0", time.Minute)
		if err != nil || !claimed {
			t.Fatal(claimed, err)
		}
		if err := p.Process(t.Context(), job, "serve-0"); err != nil {
			t.Fatal(err)
		}
		h := countfn.New(countfn.Config{RawBucket: e.raw}, e.d, p, nil)
		if r, err := invoke(t, h, payload(t, "eventbridge-object-created.json", namesOf(e, b))); err != nil || r.Counted != 1 {
			t.Fatalf("Invoke: %+v, %v", r, err)
		}
		ra, rb := counted(t, e, a.ItemID).Count, counted(t, e, b.ItemID).Count
		t.Logf("%s: %d trees", ra.Method, ra.Count)
		norm := func(r db.CountRecord) db.CountRecord {
			r.ItemID, r.AnnotatedKey, r.MaskKey, r.CountedAt = "", "", "", time.Time{}
			return r
		}
		if !reflect.DeepEqual(norm(*ra), norm(*rb)) {
			t.Errorf("function recorded %+v, in-process worker %+v", *rb, *ra)
		}
		for _, k := range [][2]string{{ra.AnnotatedKey, rb.AnnotatedKey}, {ra.MaskKey, rb.MaskKey}} {
			x, _, err1 := e.blobs.Get(t.Context(), blob.Processed, k[0])
			y, _, err2 := e.blobs.Get(t.Context(), blob.Processed, k[1])
			if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
				t.Errorf("processed %s and %s differ (%v, %v)", k[0], k[1], err1, err2)
			}
		}
	})
}

// counter is the shipped learned counter when it loads (onnx tag, ONNX
// Runtime, models/crown-detector.onnx), else the fake one.
func counter(t *testing.T) count.Counter {
	model := filepath.Join("..", "..", "models", auto.ModelFile)
	if _, err := os.Stat(model); err == nil {
		if c, err := auto.New(auto.Config{Method: auto.Learned, ModelPath: model}, nil); err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
	}
	return &fakeCounter{}
}
