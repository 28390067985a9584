package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/canopy-forest/canopy/cloud/db"
)

// badModel answers 400 when model cannot select counts.
func badModel(w http.ResponseWriter, model string) bool {
	if err := db.ValidModel(model); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return true
	}
	return false
}

// imageByModel: GET /v1/images/{id}?model=M, the image with its newest
// count made by M (a SHA-256 prefix, a model name or a method).
func (s *Server) imageByModel(w http.ResponseWriter, r *http.Request, id, model string) {
	h := s.history(w)
	if h == nil || badModel(w, model) {
		return
	}
	img, err := h.GetImageByModel(r.Context(), id, model)
	if err != nil {
		s.lookupFailed(w, err, "image", "item", id)
		return
	}
	if img.Count == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("image %q has no count made by %q (GET /v1/images/%s/counts lists its counts)", id, model, id))
		return
	}
	writeJSON(w, http.StatusOK, s.imageView(r.Context(), img))
}

// imagesByModel replaces the images of sc (GET /v1/scans/{id}?model=M)
// by the same images with their newest counts made by model; on failure it
// answers and returns false.
func (s *Server) imagesByModel(w http.ResponseWriter, r *http.Request, sc *db.Scan, model string) bool {
	if badModel(w, model) {
		return false
	}
	imgs := []db.Image{}
	err := s.eachScanImage(r.Context(), sc.ScanID, model, func(img db.Image) error {
		imgs = append(imgs, img)
		return nil
	})
	if err != nil {
		s.log.Error("scan images by model", "scan", sc.ScanID, "err", err)
		writeError(w, http.StatusInternalServerError, "scan images failed")
		return false
	}
	slices.Reverse(imgs) // newest first, as GetScan lists them
	sc.Images = imgs[:min(len(imgs), db.MaxScanImages)]
	return true
}

// CountList is the body of GET /v1/images/{id}/counts.
type CountList struct {
	ItemID string           `json:"item_id"`
	Counts []db.CountRecord `json:"counts"` // the newest first, then those it replaced, newest first
}

// imageCounts: GET /v1/images/{id}/counts, every count of the image.
func (s *Server) imageCounts(w http.ResponseWriter, r *http.Request) {
	h := s.history(w)
	if h == nil {
		return
	}
	id := r.PathValue("id")
	cs, err := h.ImageCounts(r.Context(), id)
	if err != nil {
		if errors.Is(err, db.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no image %q", id))
			return
		}
		s.lookupFailed(w, err, "counts", "item", id)
		return
	}
	writeJSON(w, http.StatusOK, CountList{ItemID: id, Counts: cs})
}
