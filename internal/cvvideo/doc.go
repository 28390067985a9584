// Package cvvideo reads cameras, GStreamer pipelines, network streams and
// video files with OpenCV's VideoCapture, loading OpenCV's videoio module
// only when the first capture is opened.
//
// Debian's libopencv-videoio (and the libopencv-imgcodecs it needs) pull in
// about 240 shared libraries (FFmpeg, GStreamer, GDAL, Qt, ...) whose
// loading alone costs some 55 MiB of resident memory. A binary linked with
// GoCV maps them all at start, whatever it does. This package links only
// OpenCV's core and imgproc (about 8 MiB) and opens libopencv_videoio with
// dlopen, beside the libopencv_core the binary runs with, when a capture is
// opened: an agent that reads a folder of photos never maps them.
//
// Each frame is converted once, with cvtColor, from OpenCV's BGR straight
// into an *image.RGBA the caller provides (an rgba.Pool's buffer).
//
// It needs cgo and the opencv build tag; without it Open returns
// ErrUnsupported. A Capture is for one goroutine at a time.
package cvvideo

import "errors"

// ErrUnsupported is returned by Open in a build without the opencv build
// tag.
var ErrUnsupported = errors.New("built without OpenCV support (build tag opencv)")

// API is an OpenCV capture backend (cv::VideoCaptureAPIs).
type API int

// The backends the agent asks for.
const (
	APIAny       API = 0
	APIV4L2      API = 200
	APIFFmpeg    API = 1900
	APIGStreamer API = 1800
)

// Prop is a capture property (cv::VideoCaptureProperties).
type Prop int

// The properties the agent sets.
const (
	PropFrameWidth  Prop = 3
	PropFrameHeight Prop = 4
	PropFPS         Prop = 5
	PropBufferSize  Prop = 38
)
