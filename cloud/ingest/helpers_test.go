package ingest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// fakeDB is an in-memory database for unit tests (function fields would
// be overkill: it only needs to remember rows).
type fakeDB struct {
	mu      sync.Mutex
	rows    map[string]db.Image
	devices map[string]db.DeviceStatus
	staged  map[[2]string]map[int]db.StagedChunk
	failPut error
}

func newFakeDB() *fakeDB {
	return &fakeDB{rows: map[string]db.Image{}, devices: map[string]db.DeviceStatus{}, staged: map[[2]string]map[int]db.StagedChunk{}}
}

func (f *fakeDB) StageChunks(_ context.Context, cs []db.StagedChunk) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{cs[0].Device, cs[0].ItemID}
	if f.staged[k] == nil {
		f.staged[k] = map[int]db.StagedChunk{}
	}
	for _, c := range cs {
		if _, ok := f.staged[k][c.Chunk]; !ok {
			f.staged[k][c.Chunk] = c
		}
	}
	return len(f.staged[k]), nil
}

func (f *fakeDB) TakeStaged(_ context.Context, device, id string) ([]db.StagedChunk, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{device, id}
	var out []db.StagedChunk
	for i := range len(f.staged[k]) + 64 {
		if c, ok := f.staged[k][i]; ok {
			out = append(out, c)
		}
	}
	delete(f.staged, k)
	return out, nil
}

func (f *fakeDB) ExpireStaged(context.Context, time.Time) (int64, error) { return 0, nil }

func (f *fakeDB) PutImage(_ context.Context, img db.Image) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failPut != nil {
		return false, f.failPut
	}
	if _, ok := f.rows[img.ItemID]; ok {
		return false, nil
	}
	f.rows[img.ItemID] = img
	return true, nil
}

func (f *fakeDB) HasImage(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.rows[id]
	return ok, nil
}

func (f *fakeDB) UpdateDevice(_ context.Context, s db.DeviceStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices[s.Device] = s
	return nil
}

func (f *fakeDB) HasRawKey(_ context.Context, key string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rows {
		if r.RawKey == key || r.MaskKey == key {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeDB) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rows)
}

// testJPEG is a small JPEG of w x h pixels, different for each seed.
func testJPEG(t testing.TB, w, h int, seed byte) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{byte(x) + seed, byte(y), seed, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// noiseJPEG is a JPEG of w x h pixels of noise: it does not compress, so
// it takes several chunks.
func noiseJPEG(t testing.TB, w, h int, seed byte) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(seed) + 1
	for i := range img.Pix {
		x = x*1664525 + 1013904223
		img.Pix[i] = byte(x >> 24)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i % 2 * 255)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var idSeq struct {
	sync.Mutex
	n int
}

// testItem is a valid item of device with a JPEG of size bytes or more.
func testItem(t testing.TB, device string, seed byte) wire.Item {
	t.Helper()
	idSeq.Lock()
	idSeq.n++
	n := idSeq.n
	idSeq.Unlock()
	return wire.Item{
		Meta: wire.Meta{
			ItemID: fmt.Sprintf("T%dN%d", time.Now().UnixNano(), n), Device: device, Seq: uint64(n),
			CapturedAt: time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC), ClockSynced: true,
			GPS:   &wire.GPS{Lat: 45.5, Lon: -122.6},
			Width: 64, Height: 48, ForestShare: 0.5, Segmenter: "classical", ScanID: "scan-1",
			TreeType: "pine", Source: "frame.jpg",
		},
		Parts: []wire.Part{
			{Name: wire.PartImage, ContentType: "image/jpeg", Data: testJPEG(t, 64, 48, seed)},
			{Name: wire.PartMask, ContentType: "image/png", Data: testPNG(t, 64, 48)},
		},
	}
}

// device is a test device: it sends items as chunks and collects acks.
type device struct {
	t      testing.TB
	id     string
	topics wire.Topics
	client mqtt.Client
	acks   chan wire.Ack
}

func newDevice(t testing.TB, brokerURL string, topics wire.Topics, id string) *device {
	t.Helper()
	d := &device{t: t, id: id, topics: topics, acks: make(chan wire.Ack, 1000)}
	cid := fmt.Sprintf("test-dev-%s-%d", id, time.Now().UnixNano())
	d.client = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(brokerURL).SetClientID(cid).SetCleanSession(true))
	if tok := d.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("device connect: %v", tok.Error())
	}
	tok := d.client.Subscribe(topics.Ack(id), 1, func(_ mqtt.Client, m mqtt.Message) {
		a, err := wire.DecodeAck(m.Payload())
		if err != nil {
			t.Errorf("bad ack %q: %v", m.Payload(), err)
			return
		}
		d.acks <- a
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("device subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { d.client.Disconnect(50) })
	return d
}

func (d *device) sendFrames(frames [][]byte) {
	d.t.Helper()
	for _, f := range frames {
		tok := d.client.Publish(d.topics.Item(d.id), 1, false, f)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			d.t.Fatalf("publish: %v", tok.Error())
		}
	}
}

func (d *device) send(it wire.Item, chunk int) {
	d.t.Helper()
	frames, err := wire.Chunk(it, chunk)
	if err != nil {
		d.t.Fatal(err)
	}
	d.sendFrames(frames)
}

// waitAcks waits for acks of the given ids and returns them by id.
func (d *device) waitAcks(ids ...string) map[string]wire.Ack {
	d.t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	got := map[string]wire.Ack{}
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case a := <-d.acks:
			if want[a.ItemID] {
				got[a.ItemID] = a
			}
		case <-deadline:
			var missing []string
			for id := range want {
				if _, ok := got[id]; !ok {
					missing = append(missing, id)
				}
			}
			sort.Strings(missing)
			d.t.Fatalf("no ack for %s within 30 s", strings.Join(missing, ", "))
		}
	}
	return got
}
