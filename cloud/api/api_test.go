package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

type fakeImages struct {
	images []db.Image
	lastQ  db.ImageQuery
}

func (f *fakeImages) GetImage(_ context.Context, id string) (db.Image, error) {
	for _, i := range f.images {
		if i.ItemID == id {
			return i, nil
		}
	}
	return db.Image{}, db.ErrNotFound
}

func (f *fakeImages) ListImages(_ context.Context, q db.ImageQuery) ([]db.Image, string, error) {
	f.lastQ = q
	if q.Cursor == "bad" {
		return nil, "", db.ErrInvalid
	}
	return f.images, "next-1", nil
}

func TestRoutes(t *testing.T) {
	f := &fakeImages{images: []db.Image{{ItemID: "A1", Device: "d", RawKey: "d/2026/01/01/A1/image.jpg"}}}
	s := New(Options{Images: f, Ready: []Check{{Name: "ok", Fn: func(context.Context) error { return nil }}}})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	tests := []struct {
		path string
		want int
	}{
		{"/healthz", 200},
		{"/readyz", 200},
		{"/metrics", 503},
		{"/v1/images", 200},
		{"/v1/images?device=d&scan_id=s&limit=10&since=2026-01-02T03:04:05Z&cursor=c", 200},
		{"/v1/images?limit=0", 400},
		{"/v1/images?since=yesterday", 400},
		{"/v1/images?cursor=bad", 400},
		{"/v1/images/A1", 200},
		{"/v1/images/nope", 404},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: got %d, want %d", tt.path, resp.StatusCode, tt.want)
		}
	}
	want := db.ImageQuery{Device: "d", ScanID: "s", Limit: 10, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Cursor: "c"}
	_, _ = http.Get(srv.URL + "/v1/images?device=d&scan_id=s&limit=10&since=2026-01-02T03:04:05Z&cursor=c")
	if !f.lastQ.Since.Equal(want.Since) || f.lastQ.Device != "d" || f.lastQ.ScanID != "s" || f.lastQ.Limit != 10 || f.lastQ.Cursor != "c" {
		t.Errorf("query: got %+v, want %+v", f.lastQ, want)
	}
	resp, _ := http.Get(srv.URL + "/v1/images")
	var list ImageList
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Images) != 1 || list.NextCursor != "next-1" {
		t.Errorf("list: got %+v", list)
	}
}

func TestReadyzFails(t *testing.T) {
	s := New(Options{Ready: []Check{{Name: "broker", Fn: func(context.Context) error { return errors.New("not connected") }}}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 {
		t.Errorf("readyz with a failing check: got %d, want 503", rec.Code)
	}
}
