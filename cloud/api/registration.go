package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// RegistrationSummary is what GET /v1/scans/{scan_id} says of the
// registration of the scan's photos by their content.
type RegistrationSummary struct {
	State     string               `json:"state"` // pending, registered, unavailable, failed
	Note      string               `json:"note,omitempty"`
	Pending   bool                 `json:"pending"` // photos counted since, waiting for the next run
	Stats     db.RegistrationStats `json:"stats"`
	MosaicURL string               `json:"mosaic_url,omitempty"` // GET /v1/scans/{scan_id}/mosaic.jpg
	UpdatedAt time.Time            `json:"updated_at"`
}

// RegistrationView is the body of GET /v1/scans/{scan_id}/registration:
// the registration with every photo (its block, its map to the frame or
// why it is not registered) and every pair matched (registered, or
// rejected with its reason).
type RegistrationView struct {
	db.ScanRegistration
	Pairs []db.RegistrationPair `json:"pairs"`
}

// registrationRoutes adds the routes of a scan's registration (called by
// EnableV1).
func (s *Server) registrationRoutes() {
	s.mux.HandleFunc("GET /v1/scans/{scan_id}/mosaic.jpg", s.scanMosaic)
	s.mux.HandleFunc("GET /v1/scans/{scan_id}/registration", s.scanRegistration)
}

// registrations is the source of registrations: the Store when it has
// them, else nil.
func (s *Server) registrations() Registrations {
	if r, ok := s.v1.Store.(Registrations); ok {
		return r
	}
	return nil
}

// registration is the scan's registration, or nil when it has none.
func (s *Server) registration(ctx context.Context, id string) (*db.ScanRegistration, error) {
	src := s.registrations()
	if src == nil {
		return nil, nil
	}
	r, err := src.GetRegistration(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func summary(r db.ScanRegistration) *RegistrationSummary {
	v := &RegistrationSummary{State: r.State, Note: r.Note, Pending: r.Pending, Stats: r.Stats, UpdatedAt: r.UpdatedAt}
	if r.Mosaic != nil {
		v.MosaicURL = "/v1/scans/" + url.PathEscape(r.ScanID) + "/mosaic.jpg"
	}
	return v
}

// scanRegistration: GET /v1/scans/{scan_id}/registration.
func (s *Server) scanRegistration(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("scan_id")
	src := s.registrations()
	if src == nil {
		writeError(w, http.StatusNotImplemented, "registrations are not available here")
		return
	}
	reg, err := src.GetRegistration(r.Context(), id)
	if err != nil {
		s.lookupFailed(w, err, "registration of scan", "scan", id)
		return
	}
	pairs, err := src.RegistrationPairs(r.Context(), id)
	if err != nil {
		s.lookupFailed(w, err, "registration of scan", "scan", id)
		return
	}
	for i := range pairs {
		pairs[i].Corr = nil // a sample for the adjustment; no use to a reader
	}
	if reg.Photos == nil {
		reg.Photos = []db.RegisteredPhoto{}
	}
	writeJSON(w, http.StatusOK, RegistrationView{ScanRegistration: reg, Pairs: pairs})
}

// scanMosaic: GET /v1/scans/{scan_id}/mosaic.jpg, the quick-look mosaic of
// the registered photos with the merged trees drawn (?plain=1: without).
func (s *Server) scanMosaic(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("scan_id")
	reg, err := s.registration(r.Context(), id)
	if err != nil {
		s.lookupFailed(w, err, "registration of scan", "scan", id)
		return
	}
	if reg == nil || reg.Mosaic == nil {
		writeError(w, http.StatusNotFound, noMosaic(id, reg))
		return
	}
	key := reg.Mosaic.Key
	if r.URL.Query().Get("plain") == "1" {
		key = reg.Mosaic.PlainKey
	}
	data, _, err := s.v1.Blobs.Get(r.Context(), blob.Processed, key)
	if err != nil {
		s.log.Error("get mosaic", "scan", id, "key", key, "err", err)
		writeError(w, http.StatusNotFound, fmt.Sprintf("the mosaic of scan %q is not readable", id))
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=60")
	_, _ = w.Write(data)
}

// noMosaic says why a scan has no mosaic.
func noMosaic(id string, reg *db.ScanRegistration) string {
	switch {
	case reg == nil:
		return fmt.Sprintf("no mosaic of scan %q: no photo of it is counted (or no scan %q)", id, id)
	case reg.State == db.RegPending:
		return fmt.Sprintf("no mosaic of scan %q yet: its photos are waiting to be registered", id)
	case reg.Note != "":
		return fmt.Sprintf("no mosaic of scan %q: %s", id, reg.Note)
	}
	return fmt.Sprintf("no mosaic of scan %q: none of its photos is registered", id)
}
