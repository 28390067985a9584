// Package capture reads frames from cameras, streams, video files and
// folders of images.
//
// A Source yields one Frame at a time from Next until it returns io.EOF
// (a video file or a folder has ended) or an error. Open picks the kind of
// source from its spec (see Kind):
//
//   - a folder of images ("/mnt/sd/DCIM"): JPEG, PNG and TIFF in name
//     order, decoded in pure Go, GPS and capture time from EXIF where
//     present; a corrupt file is logged and skipped. Works without cgo.
//   - a V4L2 device index ("0"), a GStreamer pipeline (any spec with "!"),
//     an RTSP/HTTP URL or a video file: GoCV VideoCapture, build tag opencv.
//
// Live sources (devices, pipelines, URLs) are wrapped in Reopen, which
// retries a camera that fails to open or stops delivering with exponential
// backoff and jitter, and in Limit, which caps their frame rate. File-like
// sources (folders, video files) carry a sortable Position on each frame;
// Options.After resumes after a Position, so that an agent restarted after
// a crash neither skips nor repeats a frame it has recorded.
//
// A Source is used by one goroutine at a time; Close is idempotent.
package capture
