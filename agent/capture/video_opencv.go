//go:build opencv

package capture

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/canopy-forest/canopy/internal/cvvideo"
	"github.com/canopy-forest/canopy/internal/rgba"
)

const videoSupported = true

// video is an OpenCV VideoCapture source (internal/cvvideo, which loads
// OpenCV's videoio only when a video source is opened): a camera, a
// pipeline, a stream or a video file.
type video struct {
	kind  string
	spec  string
	name  string
	vc    *cvvideo.Capture
	pool  *rgba.Pool
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
		v.vc.Grab()
		if time.Since(t) > queuedGrab {
			return
		}
	}
}

// positionWidth zero-pads a video file's frame index so Positions sort.
const positionWidth = 12

func openVideo(kind string, o Options) (Source, error) {
	var (
		vc  *cvvideo.Capture
		err error
	)
	switch kind {
	case KindDevice:
		idx, _ := strconv.Atoi(o.Source)
		vc, err = cvvideo.OpenIndex(idx, cvvideo.APIV4L2)
		if err != nil {
			vc, err = cvvideo.OpenIndex(idx, cvvideo.APIAny)
		}
	case KindPipeline:
		vc, err = cvvideo.OpenName(o.Source, cvvideo.APIGStreamer)
	case KindFile:
		if _, err := os.Stat(o.Source); err != nil {
			return nil, fmt.Errorf("open video file: %w", err)
		}
		vc, err = cvvideo.OpenName(o.Source, cvvideo.APIFFmpeg)
		if err != nil {
			vc, err = cvvideo.OpenName(o.Source, cvvideo.APIAny)
		}
	default:
		vc, err = cvvideo.OpenName(o.Source, cvvideo.APIAny)
	}
	if err != nil {
		// Only the display name: the spec may hold a password, and OpenCV's
		// messages repeat it.
		if lerr := cvvideo.Load(); lerr != nil {
			return nil, fmt.Errorf("open %s %q: %w", kind, DisplayName(o.Source), lerr)
		}
		return nil, fmt.Errorf("open %s %q: cannot open", kind, DisplayName(o.Source))
	}
	if kind == KindDevice {
		if o.Width > 0 && o.Height > 0 {
			vc.Set(cvvideo.PropFrameWidth, float64(o.Width))
			vc.Set(cvvideo.PropFrameHeight, float64(o.Height))
		}
		if o.FPS > 0 {
			vc.Set(cvvideo.PropFPS, o.FPS)
		}
		vc.Set(cvvideo.PropBufferSize, 1) // the freshest frame, not a queued one
	}
	pool := o.Pool
	if pool == nil {
		pool = &rgba.Pool{}
	}
	v := &video{kind: kind, spec: o.Source, name: DisplayName(o.Source), vc: vc, pool: pool}
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
			for i := int64(0); i < v.index; i++ {
				vc.Grab()
			}
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
	sz, ok := v.vc.Read()
	if !ok {
		if v.kind == KindFile {
			return Frame{}, io.EOF
		}
		return Frame{}, ErrReadFailed
	}
	now := time.Now()
	v.last = now
	img := v.pool.Get(sz.X, sz.Y)
	if err := v.vc.RGBA(img); err != nil {
		v.pool.Put(img)
		return Frame{}, err
	}
	f := Frame{Image: img, Time: now, Clock: ClockSystem, Name: v.name, release: v.pool.Put}
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
	v.vc = nil
	return err
}
