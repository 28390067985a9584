package capture

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/image/tiff"
)

func testImage(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x) + seed, uint8(y), seed, 255})
		}
	}
	return img
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func encode(t *testing.T, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	case "png":
		err = png.Encode(&buf, img)
	case "tiff":
		err = tiff.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeFolder writes a folder with images of each format, a corrupt JPEG,
// a text file and a subfolder.
func makeFolder(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jpg"), encode(t, "jpeg", testImage(32, 24, 1)))
	writeFile(t, filepath.Join(dir, "b.png"), encode(t, "png", testImage(16, 8, 2)))
	writeFile(t, filepath.Join(dir, "c.JPG"), []byte("\xff\xd8\xff\xe0 this is not a jpeg"))
	writeFile(t, filepath.Join(dir, "d.tif"), encode(t, "tiff", testImage(10, 10, 3)))
	writeFile(t, filepath.Join(dir, "e.png"), encode(t, "png", image.NewNRGBA(image.Rect(5, 5, 9, 7))))
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("hello"))
	if err := os.Mkdir(filepath.Join(dir, "sub.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readAll(t *testing.T, s Source) []Frame {
	t.Helper()
	var out []Frame
	for {
		f, err := s.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, f)
	}
}

func TestFolder(t *testing.T) {
	dir := makeFolder(t)
	for _, tc := range []struct {
		after string
		want  []string
		sizes []image.Point
	}{
		{"", []string{"a.jpg", "b.png", "d.tif", "e.png"}, []image.Point{{32, 24}, {16, 8}, {10, 10}, {4, 2}}},
		{"a.jpg", []string{"b.png", "d.tif", "e.png"}, nil},
		{"b.png", []string{"d.tif", "e.png"}, nil}, // c.JPG is corrupt: skipped
		{"d.tif", []string{"e.png"}, nil},
		{"e.png", nil, nil},
	} {
		t.Run("after="+tc.after, func(t *testing.T) {
			s, err := Open(Options{Source: dir, After: tc.after})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			frames := readAll(t, s)
			var got []string
			for i, f := range frames {
				got = append(got, f.Position)
				if f.Name != f.Position {
					t.Errorf("Name %q, Position %q: want equal for a folder", f.Name, f.Position)
				}
				if f.Clock != ClockFile || f.Time.IsZero() {
					t.Errorf("%s: clock %v time %v, want ClockFile and the mtime", f.Name, f.Clock, f.Time)
				}
				if tc.sizes != nil && f.Image.Rect != (image.Rectangle{Max: tc.sizes[i]}) {
					t.Errorf("%s: bounds %v, want %v", f.Name, f.Image.Rect, tc.sizes[i])
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			// Ended sources stay ended.
			if _, err := s.Next(context.Background()); err != io.EOF {
				t.Fatalf("after the end: got %v, want io.EOF", err)
			}
		})
	}
}

func TestFolderPixels(t *testing.T) {
	dir := t.TempDir()
	src := testImage(8, 4, 9)
	writeFile(t, filepath.Join(dir, "x.png"), encode(t, "png", src))
	s, _ := OpenFolder(dir, "", nil)
	f, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Image.Pix, src.Pix) {
		t.Fatal("PNG pixels differ after decoding")
	}
	if s.Name() != dir {
		t.Fatalf("Name: got %q, want %q", s.Name(), dir)
	}
}

func TestFolderMissing(t *testing.T) {
	if _, err := OpenFolder(filepath.Join(t.TempDir(), "nope"), "", nil); err == nil {
		t.Fatal("want an error for a missing folder")
	}
}

func TestOpenMissingSource(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "a", "missing", "folder")
	_, err := Open(Options{Source: spec})
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no such folder or video file") ||
		strings.Contains(err.Error(), "video file: stat") {
		t.Fatalf("got %v, want \"source ...: no such folder or video file\"", err)
	}
}

func TestDecodeImageRefusesHuge(t *testing.T) {
	// A PNG header claiming 100000x100000 pixels.
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := buf.Bytes()
	// IHDR width and height at bytes 16..24; the CRC will be wrong, which
	// DecodeConfig does not check before returning the size.
	copy(b[16:], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	if _, err := DecodeImage(b); err == nil {
		t.Fatal("want an error for a huge image")
	}
}

func TestKind(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ spec, want string }{
		{"", ""},
		{"0", KindDevice},
		{"12", KindDevice},
		{"v4l2src device=/dev/video0 ! videoconvert ! appsink", KindPipeline},
		{"rtsp://cam.local:554/stream", KindURL},
		{"HTTP://cam/video.mjpg", KindURL},
		{"https://x/y", KindURL},
		{dir, KindFolder},
		{filepath.Join(dir, "flight.mp4"), KindFile},
		{"flight.avi", KindFile},
	} {
		if got := Kind(tc.spec); got != tc.want {
			t.Errorf("Kind(%q) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

// fake is a hand-written source with function fields.
type fake struct {
	next   func() (Frame, error)
	closed int
}

func (f *fake) Next(ctx context.Context) (Frame, error) { return f.next() }
func (f *fake) Name() string                            { return "fake" }
func (f *fake) Close() error                            { f.closed++; return nil }

func TestReopenBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := Backoff{Min: time.Second, Max: 8 * time.Second}
		opens, reads := 0, 0
		var srcs []*fake
		open := func(ctx context.Context) (Source, error) {
			opens++
			if opens <= 3 { // the camera is absent for three attempts
				return nil, errors.New("no camera")
			}
			f := &fake{next: func() (Frame, error) {
				reads++
				if reads == 2 { // then it drops out once
					return Frame{}, ErrReadFailed
				}
				return Frame{Name: "cam"}, nil
			}}
			srcs = append(srcs, f)
			return f, nil
		}
		r := NewReopen("cam", open, b, nil)
		start := time.Now()
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Three failed opens wait [0.5,1] + [1,2] + [2,4] seconds.
		if el := time.Since(start); el < 3500*time.Millisecond || el > 7*time.Second {
			t.Fatalf("first frame after %v, want 3.5s..7s of backoff", el)
		}
		if r.Failures() != 0 {
			t.Fatalf("failures after a frame: got %d, want 0", r.Failures())
		}
		start = time.Now()
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 500*time.Millisecond || el > time.Second {
			t.Fatalf("after one read failure: waited %v, want 0.5s..1s (reset backoff)", el)
		}
		if opens != 5 || srcs[0].closed != 1 {
			t.Fatalf("opens %d (want 5), first camera closed %d times (want 1)", opens, srcs[0].closed)
		}
		r.Close()
		r.Close()
		if srcs[1].closed != 1 {
			t.Fatalf("Close twice: camera closed %d times, want 1", srcs[1].closed)
		}
	})
}

func TestReopenCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r := NewReopen("cam", func(ctx context.Context) (Source, error) { return nil, errors.New("absent") }, DefaultBackoff, nil)
		if _, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for n, max := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		max *= time.Millisecond
		if n > 5 {
			n = 60 // no overflow for large n
		}
		for i := 0; i < 50; i++ {
			if d := b.Delay(n); d < max/2 || d > max {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, max/2, max)
			}
		}
	}
}

func TestLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fake{next: func() (Frame, error) { return Frame{}, nil }}
		s := Limit(src, 4)
		start := time.Now()
		for i := 0; i < 9; i++ {
			if _, err := s.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if el := time.Since(start); el != 2*time.Second {
			t.Fatalf("9 frames at 4 fps took %v, want 2s", el)
		}
		if Limit(src, 0) != Source(src) {
			t.Fatal("Limit(src, 0) should return src")
		}
	})
}

func TestOpenLiveWithoutOpenCV(t *testing.T) {
	if videoSupported {
		t.Skip("built with OpenCV")
	}
	video := filepath.Join(t.TempDir(), "video.avi")
	if err := os.WriteFile(video, []byte("not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"0", "rtsp://x/y", "a ! b", video} {
		if _, err := Open(Options{Source: spec}); !errors.Is(err, ErrNoOpenCV) {
			t.Errorf("Open(%q): got %v, want ErrNoOpenCV", spec, err)
		}
	}
}

func TestFolderFollow(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "p1.png"), encode(t, "png", testImage(4, 4, 1)))
	s, err := OpenFolder(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Follow(10*time.Millisecond, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if f, err := s.Next(ctx); err != nil || f.Position != "p1.png" {
		t.Fatalf("got %q, %v; want p1.png", f.Position, err)
	}
	got := make(chan string)
	go func() {
		f, err := s.Next(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- f.Position
	}()
	// A file sorting before the last one is not taken; later ones are.
	// Written under a hidden name and renamed: settle is 0 here.
	for _, n := range []string{"p0.png", "p2.png"} {
		writeFile(t, filepath.Join(dir, "."+n), encode(t, "png", testImage(4, 4, 2)))
		if err := os.Rename(filepath.Join(dir, "."+n), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	if p := <-got; p != "p2.png" {
		t.Fatalf("followed: got %q, want p2.png", p)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := s.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("nothing new: got %v, want the context's deadline", err)
	}
}

func TestFolderFollowSettle(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenFolder(dir, "", nil)
	s.Follow(time.Millisecond, time.Hour) // nothing settles within the test
	writeFile(t, filepath.Join(dir, "fresh.png"), encode(t, "png", testImage(4, 4, 1)))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if f, err := s.Next(ctx); err == nil {
		t.Fatalf("took %q before it settled", f.Position)
	}
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"0", "v4l2:0"},
		{"libcamerasrc ! video/x-raw,width=1280 ! videoconvert ! appsink", "gstreamer:libcamerasrc"},
		{"v4l2src device=/dev/video2 ! appsink", "gstreamer:v4l2src"},
		{"rtsp://admin:hunter2@10.0.0.5:554/stream1?token=abc", "rtsp://10.0.0.5:554/stream1"},
		{"http://cam.local/mjpg", "http://cam.local/mjpg"},
		{"flight.avi", "flight.avi"},
	} {
		if got := DisplayName(tc.spec); got != tc.want {
			t.Errorf("DisplayName(%q) = %q, want %q", tc.spec, got, tc.want)
		}
	}
	if k := Key("rtsp://u:p@h/s"); strings.Contains(k, "p@") {
		t.Errorf("Key leaks credentials: %q", k)
	}
}
