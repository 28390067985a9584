package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"regexp"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
)

type v1env struct {
	srv   *Server
	d     *db.DB
	blobs *blob.Local
	write string
	read  string
	cam1  string // write, bound to device cam-1
	logs  *syncBuffer
}

func newV1(t *testing.T, maxBytes int64) *v1env {
	t.Helper()
	d := dbtest.SQLite(t)
	bs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := blob.EnsureBuckets(t.Context(), bs); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s := New(Options{Images: d, Log: slog.New(slog.NewTextHandler(logs, nil))})
	s.EnableV1(V1Options{Store: d, Blobs: bs, MaxUploadBytes: maxBytes, MaxPixels: 1_000_000})
	e := &v1env{srv: s, d: d, blobs: bs, write: NewToken(), read: NewToken(), cam1: NewToken(), logs: logs}
	for _, tok := range []db.Token{
		{Hash: HashToken(e.write), Scope: db.ScopeWrite},
		{Hash: HashToken(e.read), Scope: db.ScopeRead},
		{Hash: HashToken(e.cam1), Scope: db.ScopeWrite, Device: "cam-1"},
	} {
		if err := d.CreateToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *v1env) do(t *testing.T, method, path, token string, body []byte, ct string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, r)
	return w
}

func testPNG(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(1)
	for i := range img.Pix {
		x = x*1664525 + 1013904223
		img.Pix[i] = byte(x >> 24) // noise: does not compress
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	img.Set(3, 3, color.RGBA{0, 255, 0, 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG is a small PNG file that declares w x h pixels (header only,
// with a valid IHDR CRC).
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte{'I', 'H', 'D', 'R', byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w), byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h), 8, 2, 0, 0, 0}
	b.Write([]byte{0, 0, 0, 13})
	b.Write(ihdr)
	crc := crc32IEEE(ihdr)
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return b.Bytes()
}

type part struct {
	name, filename string
	data           []byte
}

func multipartBody(t testing.TB, parts ...part) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

const goodMeta = `{"scan_id":"scan-1","address_id":"addr-9","tree_type":"oak","lat":52.1,"lon":5.2}`

func (e *v1env) nothingStored(t *testing.T) {
	t.Helper()
	keys, err := e.blobs.List(t.Context(), blob.Raw, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("objects left behind: %v", keys)
	}
	imgs, _, err := e.d.ListImages(t.Context(), db.ImageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 0 {
		t.Errorf("rows left behind: %d", len(imgs))
	}
}

func TestUploadBad(t *testing.T) {
	png := testPNG(t, 8, 8)
	cases := []struct {
		name   string
		parts  []part
		ct     string // overrides the multipart content type
		raw    []byte
		status int
	}{
		{"not multipart", nil, "application/json", []byte(`{}`), http.StatusUnsupportedMediaType},
		{"no file", []part{{"metadata", "", []byte(goodMeta)}}, "", nil, http.StatusBadRequest},
		{"no metadata", []part{{"image", "a.png", png}}, "", nil, http.StatusBadRequest},
		{"empty file", []part{{"image", "a.png", nil}, {"metadata", "", []byte(goodMeta)}}, "", nil, http.StatusBadRequest},
		{"not an image", []part{{"image", "a.png", []byte("hello, I am text")}, {"metadata", "", []byte(goodMeta)}}, "", nil, http.StatusUnsupportedMediaType},
		{"gif", []part{{"image", "a.gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")}, {"metadata", "", []byte(goodMeta)}}, "", nil, http.StatusUnsupportedMediaType},
		{"corrupt png", []part{{"image", "a.png", png[:len(png)/2]}, {"metadata", "", []byte(goodMeta)}}, "", nil, http.StatusUnprocessableEntity},
		{"50000x50000 declared", []part{{"image", "a.png", hugePNG(50000, 50000)}, {"metadata", "", []byte(goodMeta)}}, "", nil, http.StatusRequestEntityTooLarge},
		{"bad json", []part{{"image", "a.png", png}, {"metadata", "", []byte(`{"scan_id":`)}}, "", nil, http.StatusBadRequest},
		{"unknown field", []part{{"image", "a.png", png}, {"metadata", "", []byte(`{"scan_id":"s","colour":"red"}`)}}, "", nil, http.StatusBadRequest},
		{"no scan id", []part{{"image", "a.png", png}, {"metadata", "", []byte(`{"tree_type":"oak"}`)}}, "", nil, http.StatusBadRequest},
		{"bad device", []part{{"image", "a.png", png}, {"metadata", "", []byte(`{"scan_id":"s","device":"a/b"}`)}}, "", nil, http.StatusBadRequest},
		{"lat only", []part{{"image", "a.png", png}, {"metadata", "", []byte(`{"scan_id":"s","lat":1}`)}}, "", nil, http.StatusBadRequest},
		{"lat out of range", []part{{"image", "a.png", png}, {"metadata", "", []byte(`{"scan_id":"s","lat":91,"lon":0}`)}}, "", nil, http.StatusBadRequest},
		{"unknown part", []part{{"image", "a.png", png}, {"metadata", "", []byte(goodMeta)}, {"extra", "", []byte("x")}}, "", nil, http.StatusBadRequest},
		{"two images", []part{{"image", "a.png", png}, {"image", "b.png", png}, {"metadata", "", []byte(goodMeta)}}, "", nil, http.StatusBadRequest},
		{"too many bytes", []part{{"image", "a.png", testPNG(t, 200, 200)}, {"metadata", "", []byte(goodMeta)}}, "", nil, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newV1(t, 64<<10)
			body, ct := c.raw, c.ct
			if c.parts != nil {
				body, ct = multipartBody(t, c.parts...)
			}
			w := e.do(t, "POST", "/v1/images", e.write, body, ct)
			if w.Code != c.status {
				t.Errorf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			var er Error
			if err := json.Unmarshal(w.Body.Bytes(), &er); err != nil || er.Error == "" {
				t.Errorf("no JSON error: %q", w.Body)
			}
			e.nothingStored(t)
		})
	}
}

func TestUploadAndRead(t *testing.T) {
	e := newV1(t, 0)
	for _, img := range [][]byte{testPNG(t, 8, 8), testJPEG(t)} {
		body, ct := multipartBody(t, part{"image", "a", img}, part{"metadata", "", []byte(goodMeta)})
		w := e.do(t, "POST", "/v1/images", e.write, body, ct)
		if w.Code != http.StatusAccepted {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
		var acc UploadAccepted
		json.Unmarshal(w.Body.Bytes(), &acc)
		w = e.do(t, "GET", "/v1/images/"+acc.ItemID, e.read, nil, "")
		var v ImageView
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != 200 {
			t.Fatalf("get: %d %s", w.Code, w.Body)
		}
		if v.Origin != db.OriginUpload || v.State != db.StateStored || v.ScanID != "scan-1" || v.Links.Raw == "" || v.Lat == nil {
			t.Errorf("image %+v", v)
		}
		w = e.do(t, "GET", v.Links.Raw, e.read, nil, "")
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), img) {
			t.Errorf("raw object: %d, %d bytes", w.Code, w.Body.Len())
		}
		if w := e.do(t, "GET", "/v1/images/"+acc.ItemID+"/annotated", e.read, nil, ""); w.Code != 404 {
			t.Errorf("annotated before counting: %d", w.Code)
		}
	}
	// a job per upload
	if n, err := e.d.JobStats(t.Context()); err != nil || n[db.JobQueued] != 2 {
		t.Errorf("jobs %v %v", n, err)
	}
	for _, p := range []string{"/v1/scans/scan-1", "/v1/devices", "/v1/images?scan_id=scan-1&limit=1", "/v1/openapi.json"} {
		if w := e.do(t, "GET", p, e.read, nil, ""); w.Code != 200 {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
	if w := e.do(t, "GET", "/v1/scans/nope", e.read, nil, ""); w.Code != 404 {
		t.Errorf("missing scan: %d", w.Code)
	}
}

// TestUploadThroughSaver: an upload is stored by the ingest saver like a
// device item (meta.json beside the image under blob.Key), and an upload
// that names its item_id is idempotent.
func TestUploadThroughSaver(t *testing.T) {
	e := newV1(t, 0)
	img := testJPEG(t)
	meta := `{"item_id": "field-plot-7", "scan_id": "scan-9", "device": "cam-1", "captured_at": "2026-06-01T10:00:00Z"}`
	var first UploadAccepted
	for i := range 2 {
		body, ct := multipartBody(t, part{"image", "a", img}, part{"metadata", "", []byte(meta)})
		w := e.do(t, "POST", "/v1/images", e.cam1, body, ct)
		if w.Code != http.StatusAccepted {
			t.Fatalf("upload %d: %d %s", i, w.Code, w.Body)
		}
		var acc UploadAccepted
		json.Unmarshal(w.Body.Bytes(), &acc)
		if acc.ItemID != "field-plot-7" || acc.Duplicate != (i == 1) {
			t.Errorf("upload %d: got %+v, want item field-plot-7, duplicate %v", i, acc, i == 1)
		}
		if i == 0 {
			first = acc
		}
	}
	keys, err := e.blobs.List(t.Context(), blob.Raw, "cam-1/2026/06/01/field-plot-7/")
	if err != nil || len(keys) != 2 {
		t.Errorf("objects: %v, %v; want image.jpg and meta.json", keys, err)
	}
	if n, _ := e.d.JobStats(t.Context()); n[db.JobQueued] != 1 {
		t.Errorf("jobs %v, want one for %s", n, first.ItemID)
	}
	bad := `{"item_id": "../x", "scan_id": "s"}`
	body, ct := multipartBody(t, part{"image", "a", img}, part{"metadata", "", []byte(bad)})
	if w := e.do(t, "POST", "/v1/images", e.write, body, ct); w.Code != http.StatusBadRequest {
		t.Errorf("hostile item_id: %d %s, want 400", w.Code, w.Body)
	}
}

func TestAuth(t *testing.T) {
	e := newV1(t, 0)
	body, ct := multipartBody(t, part{"image", "a", testPNG(t, 8, 8)}, part{"metadata", "", []byte(goodMeta)})
	cases := []struct {
		method, path, token string
		body                []byte
		status              int
	}{
		{"GET", "/v1/images", "", nil, 401},
		{"GET", "/v1/images", "wrong", nil, 401},
		{"GET", "/v1/devices", "", nil, 401},
		{"GET", "/v1/openapi.json", "", nil, 401},
		{"GET", "/v1/images", e.read, nil, 200},
		{"GET", "/v1/images", e.write, nil, 200},
		{"POST", "/v1/images", "", body, 401},
		{"POST", "/v1/images", e.read, body, 403},
		{"POST", "/v1/images", e.write, body, 202},
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/", "", nil, 200},
		{"GET", "/app.js", "", nil, 200},
	}
	for _, c := range cases {
		w := e.do(t, c.method, c.path, c.token, c.body, ct)
		if w.Code != c.status {
			t.Errorf("%s %s token %q: %d, want %d (%s)", c.method, c.path, c.token, w.Code, c.status, w.Body)
		}
		if c.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s: no WWW-Authenticate", c.method, c.path)
		}
	}
}

// Every registered route is in the OpenAPI document.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	src := routeSources(t)
	re := regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)
	ms := re.FindAllStringSubmatch(src, -1)
	if len(ms) < 10 {
		t.Fatalf("found only %d routes in the sources", len(ms))
	}
	for _, m := range ms {
		method, path := strings.ToLower(m[1]), m[2]
		if ops, ok := doc.Paths[path]; !ok || ops[method] == nil {
			t.Errorf("route %s %s not in openapi.json", m[1], path)
		}
	}
}
