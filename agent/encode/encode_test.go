package encode

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/internal/ulid"
	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/sync/wire"
)

func frame(t time.Time, clock capture.Clock) (capture.Frame, segment.Result) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	mask := image.NewGray(img.Rect)
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 4), 200, uint8(y * 5), 255})
			if x < 16 {
				mask.Pix[y*mask.Stride+x] = 255
			}
		}
	}
	alt := 312.5
	return capture.Frame{Image: img, Time: t, Clock: clock, Name: "DJI_0001.JPG", GPS: &wire.GPS{Lat: 47.1, Lon: 8.2, Alt: &alt}},
		segment.Result{Mask: mask, Share: 0.25}
}

func newEncoder(t *testing.T, dir string, synced bool) *Encoder {
	t.Helper()
	e, err := New(Options{
		Device: "pi-7", JPEGQuality: 80, ScanID: "scan-1", AddressID: "addr-9", TreeType: "spruce",
		Segmenter: segment.Info{Name: "onnx", Model: "treecover-seg.onnx", ModelSHA256: "ab12"},
		StateDir:  dir, KernelSynced: func() bool { return synced },
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEncode(t *testing.T) {
	dir := t.TempDir()
	e := newEncoder(t, dir, true)
	at := time.Date(2025, 7, 1, 9, 30, 0, 123e6, time.FixedZone("CEST", 7200))
	f, r := frame(at, capture.ClockSystem)
	it, err := e.Encode(f, r)
	if err != nil {
		t.Fatal(err)
	}
	m := it.Meta
	if m.Device != "pi-7" || m.Seq != 1 || m.Width != 64 || m.Height != 48 || m.ForestShare != 0.25 ||
		m.Segmenter != "onnx" || m.Model != "treecover-seg.onnx" || m.ModelSHA256 != "ab12" ||
		m.ScanID != "scan-1" || m.AddressID != "addr-9" || m.TreeType != "spruce" || m.Source != "DJI_0001.JPG" ||
		!m.ClockSynced || m.GPS == nil || m.GPS.Lat != 47.1 || *m.GPS.Alt != 312.5 {
		t.Fatalf("meta: got %+v", m)
	}
	if !m.CapturedAt.Equal(at) || m.CapturedAt.Location() != time.UTC {
		t.Fatalf("captured_at: got %v, want %v in UTC", m.CapturedAt, at)
	}
	if idt, err := ulid.Time(m.ItemID); err != nil || !idt.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("item id %s: time %v, %v; want %v", m.ItemID, idt, err, at)
	}
	if len(it.Parts) != 2 || it.Parts[0].Name != wire.PartImage || it.Parts[0].ContentType != TypeJPEG ||
		it.Parts[1].Name != wire.PartMask || it.Parts[1].ContentType != TypePNG {
		t.Fatalf("parts: got %+v", it.Parts)
	}
	img, err := jpeg.Decode(bytes.NewReader(it.Part(wire.PartImage)))
	if err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("image part: %v, %v", err, img)
	}
	mask, err := png.Decode(bytes.NewReader(it.Part(wire.PartMask)))
	if err != nil {
		t.Fatal(err)
	}
	if g := mask.(*image.Gray); g.Pix[0] != 255 || g.Pix[20] != 0 {
		t.Fatalf("mask part: pixels %d, %d; want 255, 0", g.Pix[0], g.Pix[20])
	}
}

func TestClockSynced(t *testing.T) {
	yes, no := func() bool { return true }, func() bool { return false }
	for _, tc := range []struct {
		year   int
		clock  capture.Clock
		kernel func() bool
		want   bool
	}{
		{2025, capture.ClockSystem, yes, true},
		{2025, capture.ClockSystem, no, false},
		{1970, capture.ClockSystem, yes, false}, // a Pi without RTC before NTP
		{2019, capture.ClockSystem, yes, false},
		{2024, capture.ClockEXIF, no, true},
		{2004, capture.ClockEXIF, yes, false}, // a camera never set
		{2024, capture.ClockFile, no, true},
	} {
		if got := ClockSynced(time.Date(tc.year, 3, 1, 0, 0, 0, 0, time.UTC), tc.clock, tc.kernel); got != tc.want {
			t.Errorf("ClockSynced(%d, %v) = %v, want %v", tc.year, tc.clock, got, tc.want)
		}
	}
	kernelSynced() // must not panic, whatever this machine says
}

func TestSequenceAndIDsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2025, 7, 1, 9, 30, 0, 0, time.UTC)
	var ids []string
	var seqs []uint64
	for run := 0; run < 3; run++ {
		e := newEncoder(t, dir, true)
		for i := 0; i < 5; i++ {
			f, r := frame(at, capture.ClockSystem) // same millisecond: monotonic ids
			it, err := e.Encode(f, r)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, it.Meta.ItemID)
			seqs = append(seqs, it.Meta.Seq)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		e.Close()
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("sequence after clean restarts: got %v, want 1..15", seqs)
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	if !sort.StringsAreSorted(ids[:5]) {
		t.Fatalf("ids of one run within one millisecond do not sort: %v", ids[:5])
	}
}

func TestSequenceAfterCrash(t *testing.T) {
	dir := t.TempDir()
	e := newEncoder(t, dir, true)
	f, r := frame(time.Now(), capture.ClockSystem)
	for i := 0; i < 3; i++ {
		e.Encode(f, r)
	}
	// No Close: a crash. The next run must not repeat a number.
	e2 := newEncoder(t, dir, true)
	it, err := e2.Encode(f, r)
	if err != nil {
		t.Fatal(err)
	}
	if it.Meta.Seq <= 3 || it.Meta.Seq > 3+seqLease+1 {
		t.Fatalf("seq after crash: got %d, want in (3, %d]", it.Meta.Seq, 3+seqLease+1)
	}
}

func TestSequenceFileCorrupt(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, SeqFile), []byte("garbage"), 0o644)
	if _, err := New(Options{Device: "d", JPEGQuality: 80, StateDir: dir}); err == nil {
		t.Fatal("want an error for a corrupt sequence file")
	}
}

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{
		{Device: "", JPEGQuality: 80, StateDir: dir},
		{Device: "bad/id", JPEGQuality: 80, StateDir: dir},
		{Device: "d", JPEGQuality: 0, StateDir: dir},
		{Device: "d", JPEGQuality: 101, StateDir: dir},
		{Device: "d", JPEGQuality: 80},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): want an error", o)
		}
	}
}

func BenchmarkEncode640x480(b *testing.B) {
	e, _ := New(Options{Device: "d", JPEGQuality: 85, StateDir: b.TempDir(), KernelSynced: func() bool { return true }})
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 31)
	}
	mask := image.NewGray(img.Rect)
	f := capture.Frame{Image: img, Time: time.Now()}
	for b.Loop() {
		if _, err := e.Encode(f, segment.Result{Mask: mask}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEncodeGround(t *testing.T) {
	e := newEncoder(t, t.TempDir(), true)
	f, r := frame(time.Date(2025, 7, 1, 9, 30, 0, 0, time.UTC), capture.ClockEXIF)
	// A DJI photo's metadata, and an EXIF segment that must survive re-encoding.
	rel, yaw, pitch := 40.0, -130.0, -90.0
	exifSeg := append([]byte{0xff, 0xe1, 0x00, 0x10}, "Exif\x00\x00II*\x00\x08\x00\x00\x00"...)
	f.Photo = &photo.Meta{Model: "FC300S", FocalMM: 3.61, RelAltM: &rel, GimbalYawDeg: &yaw, GimbalPitchDeg: &pitch,
		Segments: [][]byte{exifSeg}}
	it, err := e.Encode(f, r)
	if err != nil {
		t.Fatal(err)
	}
	m := it.Meta
	want := 6.17 * 40 / (3.61 * 64)
	if m.GSD < want*0.999 || m.GSD > want*1.001 || m.GSDSource != photo.SourceCamera || m.HeightM == nil || *m.HeightM != 40 ||
		m.YawDeg == nil || *m.YawDeg != -130 || m.GimbalPitchDeg == nil || *m.GimbalPitchDeg != -90 || m.GeoNote != "" {
		t.Fatalf("ground: got gsd %v (%s) height %v yaw %v pitch %v note %q; want %v from the camera", m.GSD, m.GSDSource,
			m.HeightM, m.YawDeg, m.GimbalPitchDeg, m.GeoNote, want)
	}
	jpg := it.Part(wire.PartImage)
	if !bytes.HasPrefix(jpg, append([]byte{0xff, 0xd8}, exifSeg...)) {
		t.Fatalf("image part starts % x, want SOI then the photo's EXIF segment", jpg[:min(24, len(jpg))])
	}
	if _, err := jpeg.Decode(bytes.NewReader(jpg)); err != nil {
		t.Fatalf("image with EXIF does not decode: %v", err)
	}

	// No height: no GSD, and the note says why; a configured GSD wins.
	f.Photo = &photo.Meta{Model: "FC300S", FocalMM: 3.61}
	it, _ = e.Encode(f, r)
	if it.Meta.GSD != 0 || !strings.Contains(it.Meta.GeoNote, "no height above ground") {
		t.Errorf("no height: got gsd %v note %q", it.Meta.GSD, it.Meta.GeoNote)
	}
	e.o.Ground = photo.Options{GSDM: 0.03}
	it, _ = e.Encode(f, r)
	if it.Meta.GSD != 0.03 || it.Meta.GSDSource != photo.SourceConfig {
		t.Errorf("configured: got gsd %v (%s), want 0.03 (config)", it.Meta.GSD, it.Meta.GSDSource)
	}
}

// A frame decoded from a JPEG photo, at a reduced scale, goes out as the
// photo's own bytes with the photo's size; the mask keeps the size the
// segmenter saw.
func TestEncodePhotoAsIs(t *testing.T) {
	e := newEncoder(t, t.TempDir(), true)
	f, r := frame(time.Now(), capture.ClockEXIF)
	photo := []byte("\xff\xd8\xff\xe0 the photo's bytes, as the camera wrote them")
	f.Encoded, f.SourceSize = photo, image.Pt(256, 192)
	for _, dropped := range []bool{false, true} {
		if dropped {
			f.Image = nil // capture.Frame.DropImage after segmentation
		}
		it, err := e.Encode(f, r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(it.Part(wire.PartImage), photo) {
			t.Errorf("image dropped %v: the image part is not the photo's bytes", dropped)
		}
		if it.Meta.Width != 256 || it.Meta.Height != 192 {
			t.Errorf("image dropped %v: size %dx%d, want the photo's 256x192", dropped, it.Meta.Width, it.Meta.Height)
		}
		m, err := png.Decode(bytes.NewReader(it.Part(wire.PartMask)))
		if err != nil || m.Bounds() != image.Rect(0, 0, 64, 48) {
			t.Errorf("image dropped %v: mask %v, %v; want the segmenter's 64x48", dropped, m, err)
		}
	}
	f.Encoded = nil
	if _, err := e.Encode(f, r); err == nil {
		t.Error("no image and no bytes: got no error")
	}
}
