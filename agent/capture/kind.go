package capture

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Kinds of source spec.
const (
	KindFolder   = "folder"   // a directory of images
	KindDevice   = "device"   // a V4L2 device index such as "0"
	KindPipeline = "pipeline" // a GStreamer pipeline (contains "!")
	KindURL      = "url"      // rtsp://, rtsps://, http://, https://, rtmp://, udp://
	KindFile     = "file"     // a video file
)

// Kind tells what a source spec names; "" for an empty spec. A spec that
// is an existing directory is a folder; otherwise digits are a device
// index, a "!" makes a GStreamer pipeline, a known scheme a URL, and
// anything else a video file.
func Kind(spec string) string {
	s := strings.TrimSpace(spec)
	switch {
	case s == "":
		return ""
	case isDigits(s):
		return KindDevice
	case strings.Contains(s, "!"):
		return KindPipeline
	}
	for _, p := range []string{"rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://"} {
		if strings.HasPrefix(strings.ToLower(s), p) {
			return KindURL
		}
	}
	if fi, err := os.Stat(s); err == nil && fi.IsDir() {
		return KindFolder
	}
	return KindFile
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Key is the name a source opened from spec will have (Source.Name): the
// absolute path of a folder or video file, DisplayName otherwise. It is
// the key under which a cursor on the source's positions is kept.
func Key(spec string) string {
	switch Kind(spec) {
	case KindFolder, KindFile:
		if abs, err := filepath.Abs(spec); err == nil {
			return abs
		}
	}
	return DisplayName(spec)
}

// DisplayName is a short name of a live source for logs and item metadata:
// "v4l2:0" for a device, "gstreamer:<first element>" for a pipeline, and
// a URL without its user name and password. Other specs are returned as
// they are.
func DisplayName(spec string) string {
	s := strings.TrimSpace(spec)
	switch Kind(s) {
	case KindDevice:
		return "v4l2:" + s
	case KindPipeline:
		first := strings.TrimSpace(strings.SplitN(s, "!", 2)[0])
		if f := strings.Fields(first); len(f) > 0 {
			first = f[0]
		}
		return "gstreamer:" + first
	case KindURL:
		if u, err := url.Parse(s); err == nil {
			if u.User != nil {
				u.User = nil
			}
			u.RawQuery = ""
			return u.String()
		}
		return "url"
	}
	return s
}
