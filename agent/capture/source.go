package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/canopy-forest/canopy/agent/telemetry"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/internal/rgba"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Source yields frames.
type Source interface {
	// Next returns the next frame. It returns io.EOF when the source has
	// ended for good, and ctx.Err() when ctx is done.
	Next(ctx context.Context) (Frame, error)
	// Name identifies the source (a cleaned path, a device, a URL); it is
	// the key under which a cursor on its Positions is kept.
	Name() string
	// Close releases the source. It is idempotent.
	Close() error
}

// Frame is one captured image.
type Frame struct {
	Image *image.RGBA
	// Encoded holds the frame as the source delivered it when that is a
	// JPEG photo: the item carries these bytes as they are (no second
	// encoding, the photo's EXIF kept), and Image may be a reduced decode
	// of them. nil for camera and video frames.
	Encoded []byte
	// SourceSize is the frame's size at the source (the photo's pixels);
	// Image is smaller when the photo was decoded at a reduced scale. Zero
	// means Image's size.
	SourceSize image.Point
	// release gives Image back to the source's buffer pool (nil: none).
	release func(*image.RGBA)
	// Time is when the frame was taken: the wall clock at capture, or the
	// EXIF time of a photo when it has one.
	Time time.Time
	// Clock says where Time came from.
	Clock Clock
	// Name is what the item metadata calls the frame's origin: a file's
	// base name, or the source's name for a camera.
	Name string
	// Position orders the frames of a file-like source ("" for a live
	// source); Positions sort as strings in the order frames come.
	Position string
	// GPS is the position from the photo's EXIF, when known.
	GPS *wire.GPS
	// Photo is what a photo file's metadata says (camera, height, yaw,
	// GeoTIFF georeferencing); nil for camera frames.
	Photo *photo.Meta
	// Telemetry is the vehicle's state when the frame was taken (position,
	// height above home, attitude), from the flight controller's telemetry
	// (Options.Telemetry); nil when there is none, and then TelemetryNote
	// says why.
	Telemetry     *telemetry.State
	TelemetryNote string
}

// Size is the frame's size at the source: SourceSize, or Image's size.
func (f Frame) Size() image.Point {
	if f.SourceSize != (image.Point{}) || f.Image == nil {
		return f.SourceSize
	}
	return f.Image.Rect.Size()
}

// Release gives the frame's image buffer back to its source for the next
// frames. Call it once, when nothing reads Image any more (after the item
// is encoded); a frame never released is left to the garbage collector.
func (f Frame) Release() {
	if f.release != nil && f.Image != nil {
		f.release(f.Image)
	}
}

// DropImage gives Image back (Release) when the frame carries its encoded
// photo (Encoded), and returns the frame without it: once segmented, such
// a frame's item needs only the bytes, so its pixel buffer can take the
// next photo while the item is stored. Other frames are returned as they
// are.
func (f Frame) DropImage() Frame {
	if f.Encoded == nil || f.Image == nil {
		return f
	}
	if f.SourceSize == (image.Point{}) {
		f.SourceSize = f.Image.Rect.Size()
	}
	f.Release()
	f.Image = nil
	return f
}

// Clock says where a frame's time came from.
type Clock int

const (
	// ClockSystem: the system clock when the frame was read.
	ClockSystem Clock = iota
	// ClockEXIF: the camera's clock, recorded in the photo's EXIF.
	ClockEXIF
	// ClockFile: the file's modification time (no EXIF time).
	ClockFile
	// ClockName: a UTC time stamp in the file's name (NameTime), for
	// files without an EXIF time.
	ClockName
)

// ErrNoOpenCV is returned when a spec needs GoCV in a build without the
// opencv build tag.
var ErrNoOpenCV = errors.New("built without OpenCV support (build tag opencv): only folders of images can be captured")

// ErrReadFailed is returned by a live source whose camera stopped
// delivering frames; Reopen reopens it.
var ErrReadFailed = errors.New("camera read failed")

// DefaultSettle is how long a new file in a followed folder must be
// unchanged before it is read.
const DefaultSettle = 2 * time.Second

// Options configures Open.
type Options struct {
	// Source is the spec: a folder, a V4L2 index, a GStreamer pipeline, a
	// URL or a video file.
	Source string
	// Width and Height ask a camera for a frame size (0: its default).
	Width, Height int
	// FPS caps the frame rate of live sources (0: as fast as they come).
	FPS float64
	// After resumes a file-like source after this Position ("" = from the
	// start).
	After string
	// Follow, when positive, makes a folder source wait for new files
	// (listing it again every Follow) instead of ending; Settle is how long
	// a new file must be unchanged before it is read (0: DefaultSettle).
	Follow, Settle time.Duration
	// DecodeSize, when not zero, lets a folder source decode a JPEG photo
	// much larger than it at a reduced scale (see Folder.DecodeSize): the
	// least size the segmenter needs.
	DecodeSize image.Point
	// Pool, when set, provides the frame buffers of folder and video
	// sources; Frame.Release gives them back.
	Pool *rgba.Pool
	// Backoff is how Reopen waits between attempts on a live source
	// (zero: DefaultBackoff).
	Backoff Backoff
	// Log receives warnings such as skipped files and camera retries.
	Log *slog.Logger
	// Telemetry, when set, gives each frame the vehicle's state at its
	// capture time plus TelemetryOffset (see Join).
	Telemetry       Telemetry
	TelemetryOffset time.Duration
}

// Open opens the source that o.Source names, joined to o.Telemetry when
// it is set.
func Open(o Options) (Source, error) {
	src, err := open(o)
	if err != nil || o.Telemetry == nil {
		return src, err
	}
	return Join(src, o.Telemetry, o.TelemetryOffset), nil
}

func open(o Options) (Source, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Backoff == (Backoff{}) {
		o.Backoff = DefaultBackoff
	}
	switch k := Kind(o.Source); k {
	case KindFolder:
		f, err := OpenFolder(o.Source, o.After, o.Log)
		if err != nil {
			return nil, err
		}
		if o.Settle == 0 {
			o.Settle = DefaultSettle
		}
		f.Follow(o.Follow, o.Settle)
		f.DecodeSize(o.DecodeSize, o.Pool)
		return f, nil
	case KindFile:
		if _, err := os.Stat(o.Source); errors.Is(err, fs.ErrNotExist) {
			// Most likely a mistyped folder: say so rather than "open video file".
			return nil, fmt.Errorf("source %q: no such folder or video file: %w", o.Source, fs.ErrNotExist)
		}
		return openVideo(k, o)
	case KindDevice, KindPipeline, KindURL:
		open := func(ctx context.Context) (Source, error) { return openVideo(k, o) }
		if !videoSupported {
			// Fail fast: retrying cannot help a build without OpenCV.
			return nil, ErrNoOpenCV
		}
		var s Source = NewReopen(DisplayName(o.Source), open, o.Backoff, o.Log)
		if o.FPS > 0 {
			s = Limit(s, o.FPS)
		}
		return s, nil
	default:
		return nil, errors.New("empty source")
	}
}
