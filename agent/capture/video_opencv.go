//go:build opencv

package capture

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gocv.io/x/gocv"

	"github.com/canopy-forest/canopy/internal/cvimg"
)

const videoSupported = true

// video is a GoCV VideoCapture source: a camera, a pipeline, a stream or a
// video file.
type video struct {
	kind  string
	spec  string
	name  string
	vc    *gocv.VideoCapture
	mat   gocv.Mat
	index int64 // frames read so far (file position)
	last  time.Time
}

// Live sources read more slowly than the camera delivers (Options.FPS)
// leave old frames queued in the driver or the stream's buffer. Before a
// read that comes long after the previous one, dropStale grabs (without
// converting) what is queued: queued frames come back at once, and the
// first grab that has to wait means the queue is empty.
const (
	staleAfter = 100 * time.Millisecond // a read this long after the last one checks for a queue
	queuedGrab = 3 * time.Millisecond   // a grab faster than this took a queued frame
	maxDrop    = 30                     // frames dropped at most per read
)

func (v *video) dropStale() {
	if v.kind == KindFile || v.last.IsZero() || time.Since(v.last) < staleAfter {
		return
	}
	for i := 0; i < maxDrop; i++ {
		t := time.Now()
		v.vc.Grab(1)
		if time.Since(t) > queuedGrab {
			return
		}
	}
}

// positionWidth zero-pads a video file's frame index so Positions sort.
const positionWidth = 12

func openVideo(kind string, o Options) (Source, error) {
	var (
		vc  *gocv.VideoCapture
		err error
	)
	switch kind {
	case KindDevice:
		idx, _ := strconv.Atoi(o.Source)
		vc, err = gocv.OpenVideoCaptureWithAPI(idx, gocv.VideoCaptureV4L2)
		if err != nil || !vc.IsOpened() {
			if vc != nil {
				vc.Close()
			}
			vc, err = gocv.OpenVideoCapture(idx)
		}
	case KindPipeline:
		vc, err = gocv.VideoCaptureFileWithAPI(o.Source, gocv.VideoCaptureGstreamer)
	case KindFile:
		if _, err := os.Stat(o.Source); err != nil {
			return nil, fmt.Errorf("open video file: %w", err)
		}
		vc, err = gocv.VideoCaptureFileWithAPI(o.Source, gocv.VideoCaptureFFmpeg)
		if err != nil || !vc.IsOpened() {
			if vc != nil {
				vc.Close()
			}
			vc, err = gocv.VideoCaptureFile(o.Source)
		}
	default:
		vc, err = gocv.VideoCaptureFile(o.Source)
	}
	if err != nil {
		// GoCV's error repeats the spec, which may hold a password.
		if vc != nil {
			vc.Close()
		}
		return nil, fmt.Errorf("open %s %q: cannot open", kind, DisplayName(o.Source))
	}
	if !vc.IsOpened() {
		vc.Close()
		return nil, fmt.Errorf("open %s %q: not opened", kind, DisplayName(o.Source))
	}
	if kind == KindDevice {
		if o.Width > 0 && o.Height > 0 {
			vc.Set(gocv.VideoCaptureFrameWidth, float64(o.Width))
			vc.Set(gocv.VideoCaptureFrameHeight, float64(o.Height))
		}
		if o.FPS > 0 {
			vc.Set(gocv.VideoCaptureFPS, o.FPS)
		}
		vc.Set(gocv.VideoCaptureBufferSize, 1) // the freshest frame, not a queued one
	}
	v := &video{kind: kind, spec: o.Source, name: DisplayName(o.Source), vc: vc, mat: gocv.NewMat()}
	if kind == KindFile {
		v.name = filepath.Base(o.Source)
		if o.After != "" {
			n, err := strconv.ParseInt(o.After, 10, 64)
			if err != nil {
				v.Close()
				return nil, fmt.Errorf("open file %q: bad resume position %q", o.Source, o.After)
			}
			v.index = n + 1
			// Seek by reading: CAP_PROP_POS_FRAMES is approximate for many codecs.
			vc.Grab(int(v.index))
		}
	}
	return v, nil
}

func (v *video) Name() string {
	if v.kind == KindFile {
		if abs, err := filepath.Abs(v.spec); err == nil {
			return abs
		}
	}
	return v.name
}

func (v *video) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if v.vc == nil {
		return Frame{}, io.ErrClosedPipe
	}
	v.dropStale()
	if !v.vc.Read(&v.mat) || v.mat.Empty() {
		if v.kind == KindFile {
			return Frame{}, io.EOF
		}
		return Frame{}, ErrReadFailed
	}
	now := time.Now()
	v.last = now
	img := image.NewRGBA(image.Rect(0, 0, v.mat.Cols(), v.mat.Rows()))
	if err := cvimg.ToRGBAInto(v.mat, img); err != nil {
		return Frame{}, fmt.Errorf("convert frame: %w", err)
	}
	f := Frame{Image: img, Time: now, Clock: ClockSystem, Name: v.name}
	if v.kind == KindFile {
		f.Position = fmt.Sprintf("%0*d", positionWidth, v.index)
	}
	v.index++
	return f, nil
}

func (v *video) Close() error {
	if v.vc == nil {
		return nil
	}
	err := v.vc.Close()
	v.mat.Close()
	v.vc = nil
	return err
}
