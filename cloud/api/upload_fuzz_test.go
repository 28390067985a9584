package api

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseUpload feeds ParseUpload multipart bodies built from a fuzzed
// metadata part and fuzzed image bytes: it must never panic, and every
// refusal is an *UploadError with a 4xx status.
func FuzzParseUpload(f *testing.F) {
	f.Add([]byte(goodMeta), testPNG(f, 4, 4))
	f.Add([]byte(`{"scan_id":"x","unknown":1}`), testJPEG(f))
	f.Add([]byte(`{}`), hugePNG(50000, 50000))
	f.Add([]byte(`null`), []byte("II*\x00\x08\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, meta, img []byte) {
		body, ct := multipartBody(t, part{"image", "a", img}, part{"metadata", "", meta})
		u, err := ParseUpload(bytes.NewReader(body), ct, 1<<20)
		if err != nil {
			var ue *UploadError
			if !errors.As(err, &ue) || ue.Status < 400 || ue.Status > 499 {
				t.Fatalf("error %v is not a 4xx UploadError", err)
			}
			return
		}
		if u.Width*u.Height > 1<<20 || u.Meta.ScanID == "" {
			t.Fatalf("accepted %dx%d, scan %q", u.Width, u.Height, u.Meta.ScanID)
		}
	})
}
