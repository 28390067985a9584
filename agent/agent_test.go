package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/encode"
	"github.com/canopy-forest/canopy/agent/selection"
	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/segment/classical"
	"github.com/canopy-forest/canopy/sync/wire"
)

// writeImages writes n PNG frames; green ones (i%3 != 2) are forest.
func writeImages(t *testing.T, dir string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 48, 32))
		for y := 0; y < 32; y++ {
			for x := 0; x < 48; x++ {
				c := color.RGBA{uint8(x*5 + i*40), 60, uint8(y * 7), 255}
				if i%3 != 2 && x < 24 {
					c = color.RGBA{30, uint8(150 + (x+y+i*7)%90), 40, 255}
				}
				img.SetRGBA(x, y, c)
			}
		}
		f, err := os.Create(filepath.Join(dir, "img_"+string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, img)
		f.Close()
	}
}

func newAgent(t *testing.T, src, data string, sink Sink, p selection.Policy) *Agent {
	t.Helper()
	enc, err := encode.New(encode.Options{Device: "test-1", JPEGQuality: 80, StateDir: data, Segmenter: segment.Info{Name: "classical"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	a, err := New(Options{
		Capture:   capture.Options{Source: src},
		Segmenter: classical.New(classical.Options{}),
		Policy:    p,
		Encoder:   enc,
		Sink:      sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func listItems(t *testing.T, dir string) []wire.Meta {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []wire.Meta
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if err != nil {
			t.Fatalf("item %s: %v", e.Name(), err)
		}
		var m wire.Meta
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"image.jpg", "mask.png"} {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), f)); err != nil {
				t.Fatalf("item %s: %v", e.Name(), err)
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

func TestRunFolderToDirSink(t *testing.T) {
	src, data := t.TempDir(), t.TempDir()
	writeImages(t, src, 6)
	os.WriteFile(filepath.Join(src, "img_c2.jpg"), []byte("not a jpeg"), 0o644) // skipped, logged
	sink, err := OpenDirSink(filepath.Join(data, "items"))
	if err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, src, data, sink, selection.Policy{MinShare: 0.2})
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.o.Encoder.Close() // a clean stop: the next run continues the sequence
	s := a.Stats()
	if s.FramesRead != 6 || s.Segmented != 6 || s.Selected != 4 || s.ItemsPut != 4 || s.Skipped["low_share"] != 2 {
		t.Fatalf("stats: got %+v, want 6 read, 4 put, 2 low_share", s)
	}
	items := listItems(t, sink.Dir())
	if len(items) != 4 {
		t.Fatalf("items: got %d, want 4", len(items))
	}
	wantSrc := []string{"img_a.png", "img_b.png", "img_d.png", "img_e.png"}
	for i, m := range items {
		if m.Seq != uint64(i+1) || m.Source != wantSrc[i] || m.Device != "test-1" || m.ForestShare < 0.2 {
			t.Fatalf("item %d: got %+v", i, m)
		}
	}
	pos, _ := sink.Cursor(capture.Key(src))
	if pos != "img_f.png" {
		t.Fatalf("cursor: got %q, want img_f.png (the last frame, although skipped)", pos)
	}

	// A second run resumes after the cursor: nothing new.
	a2 := newAgent(t, src, data, sink, selection.Policy{MinShare: 0.2})
	if err := a2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a2.o.Encoder.Close() // a clean stop: the next run continues the sequence
	if s := a2.Stats(); s.FramesRead != 0 {
		t.Fatalf("second run read %d frames, want 0", s.FramesRead)
	}
	// New photos copied in later are taken, once.
	writeImages(t, src, 8) // rewrites a..f (same names) and adds g, h
	a3 := newAgent(t, src, data, sink, selection.Policy{})
	if err := a3.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a3.o.Encoder.Close() // a clean stop: the next run continues the sequence
	if s := a3.Stats(); s.FramesRead != 2 || s.ItemsPut != 2 {
		t.Fatalf("third run: got %+v, want 2 frames read and put", s)
	}
	if got := listItems(t, sink.Dir()); len(got) != 6 || got[5].Seq != 6 {
		t.Fatalf("after the third run: %d items, last seq %d; want 6 and 6", len(got), got[len(got)-1].Seq)
	}
}

// fakeSource yields frames until stop, then blocks until ctx is done.
type fakeSource struct {
	n, limit int
	block    bool
}

func (f *fakeSource) Next(ctx context.Context) (capture.Frame, error) {
	if f.n >= f.limit {
		if f.block {
			<-ctx.Done()
			return capture.Frame{}, ctx.Err()
		}
		return capture.Frame{}, io.EOF
	}
	f.n++
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Pix[0] = uint8(f.n)
	return capture.Frame{Image: img, Time: time.Now(), Name: "cam"}, nil
}
func (f *fakeSource) Name() string { return "cam" }
func (f *fakeSource) Close() error { return nil }

// fakeSeg is a segmenter with a function field.
type fakeSeg struct {
	seg func(ctx context.Context) error
}

func (s *fakeSeg) Segment(ctx context.Context, img *image.RGBA) (segment.Result, error) {
	if err := s.seg(ctx); err != nil {
		return segment.Result{}, err
	}
	return segment.Result{Mask: image.NewGray(img.Rect), Share: 1}, nil
}
func (s *fakeSeg) Info() segment.Info { return segment.Info{Name: "fake"} }
func (s *fakeSeg) Close() error       { return nil }

func TestCancelDrains(t *testing.T) {
	data := t.TempDir()
	enc, _ := encode.New(encode.Options{Device: "d", JPEGQuality: 80, StateDir: data})
	defer enc.Close()
	var put int
	ctx, cancel := context.WithCancel(context.Background())
	segs := 0
	a, err := New(Options{
		Open:      func(capture.Options) (capture.Source, error) { return &fakeSource{limit: 3, block: true}, nil },
		Segmenter: &fakeSeg{seg: func(context.Context) error { segs++; return nil }},
		Encoder:   enc,
		Sink: SinkFunc(func(ctx context.Context, it wire.Item, cur Cursor) error {
			put++
			if put == 3 {
				cancel() // stop capture now: frames already read are still finished
			}
			return nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.FramesRead != 3 || s.ItemsPut != 3 {
		t.Fatalf("got %+v, want 3 read and 3 put", s)
	}
}

func TestDrainDeadline(t *testing.T) {
	data := t.TempDir()
	enc, _ := encode.New(encode.Options{Device: "d", JPEGQuality: 80, StateDir: data})
	defer enc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	a, _ := New(Options{
		Open: func(capture.Options) (capture.Source, error) { return &fakeSource{limit: 100, block: true}, nil },
		Segmenter: &fakeSeg{seg: func(c context.Context) error {
			cancel()
			<-c.Done() // a segmenter stuck until the drain deadline
			return c.Err()
		}},
		Encoder:      enc,
		Sink:         SinkFunc(func(context.Context, wire.Item, Cursor) error { return nil }),
		DrainTimeout: 20 * time.Millisecond,
	})
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("got %v, want nil after the drain deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain deadline")
	}
}

func TestSinkErrorStops(t *testing.T) {
	data := t.TempDir()
	enc, _ := encode.New(encode.Options{Device: "d", JPEGQuality: 80, StateDir: data})
	defer enc.Close()
	boom := errors.New("disk full")
	a, _ := New(Options{
		Open:      func(capture.Options) (capture.Source, error) { return &fakeSource{limit: 1000, block: true}, nil },
		Segmenter: &fakeSeg{seg: func(context.Context) error { return nil }},
		Encoder:   enc,
		Sink:      SinkFunc(func(context.Context, wire.Item, Cursor) error { return boom }),
	})
	if err := a.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the sink's error", err)
	}
}

// TestFullSinkIsBackPressure: a full outbox refuses items one at a time;
// the agent counts the refusals, keeps capturing and resumes when the sink
// has room again.
func TestFullSinkIsBackPressure(t *testing.T) {
	data := t.TempDir()
	enc, _ := encode.New(encode.Options{Device: "d", JPEGQuality: 80, StateDir: data})
	defer enc.Close()
	n := 0
	a, _ := New(Options{
		Open:      func(capture.Options) (capture.Source, error) { return &fakeSource{limit: 10}, nil },
		Segmenter: &fakeSeg{seg: func(context.Context) error { return nil }},
		Encoder:   enc,
		Sink: SinkFunc(func(context.Context, wire.Item, Cursor) error {
			n++
			if n >= 3 && n <= 7 { // full from the third item to the seventh
				return fmt.Errorf("put: %w: no room", ErrFull)
			}
			return nil
		}),
	})
	if err := a.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v, want nil: a full sink must not stop the agent", err)
	}
	s := a.Stats()
	if s.FramesRead != 10 || s.ItemsPut != 5 || s.Refused != 5 || s.Skipped[SkipSinkFull] != 5 {
		t.Fatalf("got %+v, want 10 read, 5 put, 5 refused", s)
	}
}

func TestSegmentErrorSkips(t *testing.T) {
	data := t.TempDir()
	enc, _ := encode.New(encode.Options{Device: "d", JPEGQuality: 80, StateDir: data})
	defer enc.Close()
	n := 0
	a, _ := New(Options{
		Open: func(capture.Options) (capture.Source, error) { return &fakeSource{limit: 4}, nil },
		Segmenter: &fakeSeg{seg: func(context.Context) error {
			n++
			if n%2 == 0 {
				return errors.New("bad frame")
			}
			return nil
		}},
		Encoder: enc,
		Sink:    SinkFunc(func(context.Context, wire.Item, Cursor) error { return nil }),
	})
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.ItemsPut != 2 || s.Skipped[SkipSegmentError] != 2 {
		t.Fatalf("got %+v, want 2 put and 2 segment errors", s)
	}
}

func TestNewChecks(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("want an error without parts")
	}
}

func TestHealth(t *testing.T) {
	data := t.TempDir()
	enc, _ := encode.New(encode.Options{Device: "d", JPEGQuality: 80, StateDir: data})
	defer enc.Close()
	entered, release := make(chan struct{}), make(chan struct{})
	var a *Agent
	a, _ = New(Options{
		Open: func(capture.Options) (capture.Source, error) { return &fakeSource{limit: 1}, nil },
		Segmenter: &fakeSeg{seg: func(context.Context) error {
			close(entered)
			<-release
			return nil
		}},
		Encoder:    enc,
		Sink:       SinkFunc(func(context.Context, wire.Item, Cursor) error { return nil }),
		StuckAfter: time.Nanosecond,
	})
	if err := a.Health(); err != nil {
		t.Fatalf("idle: got %v, want healthy", err)
	}
	if a.Capturing() {
		t.Error("Capturing before Run")
	}
	done := make(chan error)
	go func() { done <- a.Run(context.Background()) }()
	<-entered
	if !a.Capturing() {
		t.Error("not Capturing while a frame is segmented")
	}
	time.Sleep(time.Millisecond) // longer than StuckAfter
	if err := a.Health(); err == nil {
		t.Fatal("a segmenter stuck past StuckAfter: want an error")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.Health(); err != nil {
		t.Fatalf("after the run: got %v, want healthy", err)
	}
	if a.Capturing() {
		t.Error("Capturing after Run")
	}
}
