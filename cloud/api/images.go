package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// ImageList is the body of GET /v1/images.
type ImageList struct {
	Images     []db.Image `json:"images"`
	NextCursor string     `json:"next_cursor,omitempty"` // pass as ?cursor= for the next page; absent on the last
}

// listImages: GET /v1/images?device=&scan_id=&since=&limit=&cursor=, newest first.
func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	if s.opt.Images == nil {
		writeError(w, http.StatusServiceUnavailable, "no database")
		return
	}
	q, err := imageQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	imgs, next, err := s.opt.Images.ListImages(r.Context(), q)
	if err != nil {
		if errors.Is(err, db.ErrInvalid) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.log.Error("list images", "err", err)
		writeError(w, http.StatusInternalServerError, "list images failed")
		return
	}
	if imgs == nil {
		imgs = []db.Image{}
	}
	writeJSON(w, http.StatusOK, ImageList{Images: imgs, NextCursor: next})
}

func imageQuery(r *http.Request) (db.ImageQuery, error) {
	v := r.URL.Query()
	q := db.ImageQuery{Device: v.Get("device"), ScanID: v.Get("scan_id"), Cursor: v.Get("cursor")}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > db.MaxLimit {
			return q, fmt.Errorf("limit: want 1..%d, got %q", db.MaxLimit, s)
		}
		q.Limit = n
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, fmt.Errorf("since: want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", s)
		}
		q.Since = t
	}
	return q, nil
}

// getImage: GET /v1/images/{id}, the image's metadata and object keys.
func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	if s.opt.Images == nil {
		writeError(w, http.StatusServiceUnavailable, "no database")
		return
	}
	id := r.PathValue("id")
	if model := r.URL.Query().Get("model"); model != "" && s.v1 != nil {
		s.imageByModel(w, r, id, model) // counts.go
		return
	}
	img, err := s.opt.Images.GetImage(r.Context(), id)
	if err != nil {
		s.lookupFailed(w, err, "image", "item", id)
		return
	}
	writeJSON(w, http.StatusOK, s.imageView(r.Context(), img))
}
