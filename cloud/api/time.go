package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/scan"
)

// History is what the endpoints of scans over time need of the database:
// scans by time and place, and counts by model (db.DB has it).
type History interface {
	ListScans(ctx context.Context, q db.ScanQuery) ([]db.ScanSummary, string, error)
	ListPlaces(ctx context.Context) ([]db.Place, error)
	GetImageByModel(ctx context.Context, itemID, model string) (db.Image, error)
	EachScanImageByModel(ctx context.Context, scanID, model string, fn func(db.Image) error) error
	ImageCounts(ctx context.Context, itemID string) ([]db.CountRecord, error)
}

// enableTime registers the routes of scans over time (EnableV1 calls it).
func (s *Server) enableTime() {
	s.mux.HandleFunc("GET /v1/scans", s.listScans)
	s.mux.HandleFunc("GET /v1/places", s.listPlaces)
	s.mux.HandleFunc("GET /v1/places/{address_id}", s.getPlace)
	s.mux.HandleFunc("GET /v1/scans/{scan_id}/change", s.scanChange(false))        // change.go
	s.mux.HandleFunc("GET /v1/scans/{scan_id}/change.geojson", s.scanChange(true)) // change.go
	s.mux.HandleFunc("GET /v1/images/{id}/counts", s.imageCounts)                  // counts.go
}

// history is the Store as a History, or nil (then these routes answer 501).
func (s *Server) history(w http.ResponseWriter) History {
	h, ok := s.v1.Store.(History)
	if !ok {
		writeError(w, http.StatusNotImplemented, "scans over time are not available here")
		return nil
	}
	return h
}

// ScanItem is one scan of GET /v1/scans: when and where it was taken, its
// figures from the database and its trees merged by position.
type ScanItem struct {
	db.ScanSummary
	TotalTrees    int      `json:"total_trees"` // each tree once (merged by position), plus the trees of unplaced images
	PlacedTrees   int      `json:"placed_trees"`
	UnplacedTrees int      `json:"unplaced_trees"`
	AreaHa        float64  `json:"area_ha"`
	TreesPerHa    *float64 `json:"trees_per_ha,omitempty"`
	// Footprint is the outline of its placed images' footprints (their
	// convex hull), a closed [lon, lat] ring.
	Footprint [][2]float64 `json:"footprint,omitempty"`
}

// ScanList is the body of GET /v1/scans.
type ScanList struct {
	Scans      []ScanItem `json:"scans"`
	NextCursor string     `json:"next_cursor,omitempty"` // pass as ?cursor= for the next page; absent on the last
}

// Page sizes of GET /v1/scans (each scan's trees are merged for it).
const (
	defaultScanLimit = 20
	maxScanLimit     = 100
)

// listScans: GET /v1/scans?address_id=&bbox=&since=&until=&order=&limit=&cursor=&model=.
func (s *Server) listScans(w http.ResponseWriter, r *http.Request) {
	if list, ok := s.scanList(w, r, ""); ok {
		writeJSON(w, http.StatusOK, list)
	}
}

// scanList lists the scans the request selects with their merged trees:
// those of place (a place's scans, oldest first unless order=newest) when
// it is not "". On failure it answers and returns false.
func (s *Server) scanList(w http.ResponseWriter, r *http.Request, place string) (ScanList, bool) {
	h := s.history(w)
	if h == nil {
		return ScanList{}, false
	}
	q, err := scanQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return ScanList{}, false
	}
	if place != "" {
		q.AddressID, q.Oldest = place, r.URL.Query().Get("order") != "newest"
	}
	model := r.URL.Query().Get("model")
	if model != "" && badModel(w, model) {
		return ScanList{}, false
	}
	ss, next, err := h.ListScans(r.Context(), q)
	if err != nil {
		if errors.Is(err, db.ErrInvalid) {
			writeError(w, http.StatusBadRequest, err.Error())
			return ScanList{}, false
		}
		s.log.Error("list scans", "err", err)
		writeError(w, http.StatusInternalServerError, "list scans failed")
		return ScanList{}, false
	}
	out := ScanList{Scans: make([]ScanItem, 0, len(ss)), NextCursor: next}
	for _, sc := range ss {
		it := ScanItem{ScanSummary: sc, TotalTrees: sc.SumOfCounts, UnplacedTrees: sc.SumOfCounts}
		res, _, err := s.mergeScan(r.Context(), sc.ScanID, model) // scans.go
		if err != nil {
			s.log.Error("merge scan trees", "scan", sc.ScanID, "err", err)
		} else {
			it.TotalTrees, it.PlacedTrees, it.UnplacedTrees = res.Total(), len(res.Trees), res.Unplaced
			it.AreaHa, it.TreesPerHa, it.Footprint = res.AreaM2/10000, res.PerHa(), outline(res)
			if model != "" {
				it.Counted, it.SumOfCounts = res.Counted, res.SumOfCounts
			}
		}
		out.Scans = append(out.Scans, it)
	}
	return out, true
}

// outline is the convex hull of a scan's footprints, closed.
func outline(r scan.Result) [][2]float64 {
	var pts []geo.LonLat
	for _, f := range r.Footprints {
		for _, p := range f {
			pts = append(pts, geo.LonLat{Lon: p[0], Lat: p[1]})
		}
	}
	h := geo.Hull(pts)
	if len(h) < 3 {
		return nil
	}
	out := make([][2]float64, 0, len(h)+1)
	for _, p := range append(h, h[0]) {
		out = append(out, [2]float64{p.Lon, p.Lat})
	}
	return out
}

// scanQuery reads the filters of GET /v1/scans.
func scanQuery(r *http.Request) (db.ScanQuery, error) {
	v := r.URL.Query()
	q := db.ScanQuery{AddressID: v.Get("address_id"), Cursor: v.Get("cursor"), Limit: defaultScanLimit}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxScanLimit {
			return q, fmt.Errorf("limit: want 1..%d, got %q", maxScanLimit, s)
		}
		q.Limit = n
	}
	switch v.Get("order") {
	case "", "newest":
	case "oldest":
		q.Oldest = true
	default:
		return q, fmt.Errorf("order: want newest or oldest, got %q", v.Get("order"))
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		s := v.Get(f.name)
		if s == "" {
			continue
		}
		t, err := parseTime(s)
		if err != nil {
			return q, fmt.Errorf("%s: want an RFC 3339 time (2026-01-02T15:04:05Z) or a date (2026-01-02), got %q", f.name, s)
		}
		*f.t = t
	}
	if s := v.Get("bbox"); s != "" {
		parts := strings.Split(s, ",")
		var b db.BBox
		if len(parts) != 4 {
			return q, fmt.Errorf("bbox: want west,south,east,north in degrees, got %q", s)
		}
		for i, p := range parts {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return q, fmt.Errorf("bbox: want west,south,east,north in degrees, got %q", s)
			}
			b[i] = f
		}
		if err := b.Valid(); err != nil {
			return q, err
		}
		q.BBox = &b
	}
	return q, nil
}

// parseTime reads an RFC 3339 time or a date (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// PlaceList is the body of GET /v1/places.
type PlaceList struct {
	Places []db.Place `json:"places"`
}

// listPlaces: GET /v1/places, every address id with its scans' span.
func (s *Server) listPlaces(w http.ResponseWriter, r *http.Request) {
	h := s.history(w)
	if h == nil {
		return
	}
	ps, err := h.ListPlaces(r.Context())
	if err != nil {
		s.log.Error("list places", "err", err)
		writeError(w, http.StatusInternalServerError, "list places failed")
		return
	}
	writeJSON(w, http.StatusOK, PlaceList{Places: ps})
}

// PlaceView is the body of GET /v1/places/{address_id}: the place's scans
// in time order, oldest first.
type PlaceView struct {
	AddressID string `json:"address_id"`
	ScanList
}

// getPlace: GET /v1/places/{address_id}?order=&limit=&cursor=&model=.
func (s *Server) getPlace(w http.ResponseWriter, r *http.Request) {
	place := r.PathValue("address_id")
	list, ok := s.scanList(w, r, place)
	if !ok {
		return
	}
	if len(list.Scans) == 0 && r.URL.Query().Get("cursor") == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no scans of place %q", place))
		return
	}
	writeJSON(w, http.StatusOK, PlaceView{AddressID: place, ScanList: list})
}
