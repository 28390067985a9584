//go:build opencv

package capture

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/canopy-forest/canopy/internal/cvimg"
)

// WriteTestVideo writes n frames of w x h MJPG video to path.
func writeTestVideo(t testing.TB, path string, n, w, h int) {
	t.Helper()
	vw, err := gocv.VideoWriterFile(path, "MJPG", 10, w, h, true)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	for i := 0; i < n; i++ {
		m, err := cvimg.FromRGBA(testImage(w, h, uint8(i*20)))
		if err != nil {
			t.Fatal(err)
		}
		if err := vw.Write(m); err != nil {
			t.Fatal(err)
		}
		m.Close()
	}
}

func TestVideoFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flight.avi")
	writeTestVideo(t, path, 5, 64, 48)
	s, err := Open(Options{Source: path})
	if err != nil {
		t.Fatal(err)
	}
	frames := readAll(t, s)
	s.Close()
	if len(frames) != 5 {
		t.Fatalf("read %d frames, want 5", len(frames))
	}
	for i, f := range frames {
		if f.Image.Rect.Dx() != 64 || f.Image.Rect.Dy() != 48 {
			t.Fatalf("frame %d: bounds %v, want 64x48", i, f.Image.Rect)
		}
		if f.Name != "flight.avi" {
			t.Fatalf("frame %d: name %q, want flight.avi", i, f.Name)
		}
		if i > 0 && !(frames[i-1].Position < f.Position) {
			t.Fatalf("positions do not sort: %q then %q", frames[i-1].Position, f.Position)
		}
	}
	// Resume after the third frame: the last two come, with the same positions.
	s, err = Open(Options{Source: path, After: frames[2].Position})
	if err != nil {
		t.Fatal(err)
	}
	rest := readAll(t, s)
	if len(rest) != 2 || rest[0].Position != frames[3].Position {
		t.Fatalf("resumed: got %d frames from %q, want 2 from %q", len(rest), rest[0].Position, frames[3].Position)
	}
	// Resumed frames are the same pixels (MJPG decodes deterministically).
	if rest[0].Image.Pix[100] != frames[3].Image.Pix[100] {
		t.Fatal("resumed frame differs from the original frame at that position")
	}
	if _, err := s.Next(context.Background()); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
	s.Close()
}

func TestVideoMissingFile(t *testing.T) {
	if _, err := Open(Options{Source: filepath.Join(t.TempDir(), "none.avi")}); err == nil {
		t.Fatal("want an error for a missing video file")
	}
}

func TestMissingCameraRetries(t *testing.T) {
	// Device 97 does not exist: Open succeeds (the camera may come later)
	// and Next keeps retrying until the context ends.
	s, err := Open(Options{Source: "97", Backoff: Backoff{Min: 1e6, Max: 2e6}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50e6)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if r := s.(*Reopen); r.Failures() < 1 {
		t.Fatalf("failures: got %d, want at least 1", r.Failures())
	}
}

func TestPipelineReopensWhenItEnds(t *testing.T) {
	// A GStreamer pipeline that stops after 3 frames stands in for a camera
	// that disappears: Reopen opens it again and frames keep coming.
	spec := "videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! videoconvert ! appsink"
	probe, err := openVideo(KindPipeline, Options{Source: spec})
	if err != nil {
		t.Skipf("no GStreamer videotestsrc here (gstreamer1.0-plugins-base): %v", err)
	}
	probe.Close()
	s, err := Open(Options{Source: spec, Backoff: Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 7; i++ {
		f, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Image.Rect.Dx() != 64 || f.Position != "" || f.Clock != ClockSystem {
			t.Fatalf("frame %d: bounds %v position %q clock %v", i, f.Image.Rect, f.Position, f.Clock)
		}
	}
}
