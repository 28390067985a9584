package api

import (
	"context"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// FuzzScansQuery sends GET /v1/scans and GET /v1/scans/{id}/change fuzzed
// query strings (filters, cursors, scores): every answer is 200, 400 or,
// for a scan that is not there, 404; never a 500 or a panic.
func FuzzScansQuery(f *testing.F) {
	d, err := db.Open(context.Background(), filepath.Join(f.TempDir(), "canopy.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	bs, err := blob.NewLocal(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	s := New(Options{Images: d})
	s.EnableV1(V1Options{Store: d, Blobs: bs, AuthOff: true})
	e := &v1env{srv: s, d: d, blobs: bs}
	for _, sv := range []survey{
		{id: "a", scan: "before", address: "farm", at: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), cx: 25, cy: 25, trees: grid()},
		{id: "b", scan: "after", address: "farm", at: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), cx: 25, cy: 25, trees: grid([2]float64{4, 4})},
	} {
		sv.put(f, e)
	}
	for _, q := range []string{"address_id=farm&order=oldest", "bbox=5,52,5.1,52.1", "since=2026-06-01&until=2027-01-01T00:00:00Z",
		"limit=1&cursor=eyJ0IjoiMjAyNi0wNS0wMVQwMDowMDowMC4wMDAwMDBaIiwicyI6ImIifQ", "cursor=%ff", "bbox=NaN,0,1,1", "model=classical",
		"base=before&max_shift_m=3&min_score=0.5", "base=nope", "base=before&base_model=x"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		for _, path := range []string{"/v1/scans?", "/v1/scans/after/change?", "/v1/places/farm?"} {
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, httptest.NewRequest("GET", path+v.Encode(), nil))
			if w.Code != 200 && w.Code != 400 && w.Code != 404 {
				t.Fatalf("GET %s%s: %d %s", path, v.Encode(), w.Code, w.Body)
			}
		}
	})
}
