package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/scan"
)

// ScanImages is what the scan map and exports need of the database: every
// image of a scan with its count, read as it goes (db.DB has it).
type ScanImages interface {
	EachScanImage(ctx context.Context, scanID string, fn func(db.Image) error) error
}

// Registrations is what the scan views need of the registration of a
// scan's photos (db.DB has it; see registration.go).
type Registrations interface {
	GetRegistration(ctx context.Context, scanID string) (db.ScanRegistration, error)
	RegistrationPairs(ctx context.Context, scanID string) ([]db.RegistrationPair, error)
}

// ScanView is the body of GET /v1/scans/{scan_id}: the scan, its images,
// and its trees merged across overlaps: those of photos registered to
// each other in their common frame, the others by position. total_trees
// counts each tree once: the merged trees, plus the counts of images that
// could not be placed.
type ScanView struct {
	db.Scan
	SumOfCounts   int      `json:"sum_of_counts"`  // the images' counts added up (overlaps counted again)
	PlacedTrees   int      `json:"placed_trees"`   // trees with a position on the Earth, after merging
	LocalTrees    int      `json:"local_trees"`    // trees of registered photos without GPS, merged on a local map
	UnplacedTrees int      `json:"unplaced_trees"` // trees of images that could not be placed
	AreaHa        float64  `json:"area_ha"`        // the placed images' footprints, in hectares
	TreesPerHa    *float64 `json:"trees_per_ha,omitempty"`
	// Registration: how the scan's photos were registered; nil before
	// any photo was counted.
	Registration *RegistrationSummary `json:"registration,omitempty"`
}

// scanImages is the source of whole scans: V1Options.Scans, else the
// Store when it has EachScanImage.
func (s *Server) scanImages() ScanImages {
	if s.v1.Scans != nil {
		return s.v1.Scans
	}
	if si, ok := s.v1.Store.(ScanImages); ok {
		return si
	}
	return nil
}

// eachScanImage calls fn with every image of scan id, oldest first, with
// its newest count, or with its newest count made by model (a SHA-256
// prefix, a model name or a method; see db.GetImageByModel) when model is
// not "".
func (s *Server) eachScanImage(ctx context.Context, id, model string, fn func(db.Image) error) error {
	if model != "" {
		h, ok := s.v1.Store.(History)
		if !ok {
			return fmt.Errorf("counts by model are not available here")
		}
		return h.EachScanImageByModel(ctx, id, model, fn)
	}
	src := s.scanImages()
	if src == nil {
		return fmt.Errorf("no scan source configured")
	}
	return src.EachScanImage(ctx, id, fn)
}

// mergeScan merges the trees of scan id (counted by model, when not ""),
// with its registration when it has one;
// found is false for a scan with no images.
func (s *Server) mergeScan(ctx context.Context, id, model string) (r scan.Result, found bool, err error) {
	m := scan.NewMerger(scan.Options{})
	if reg, err := s.registration(ctx, id); err != nil {
		return scan.Result{}, false, err
	} else if reg != nil {
		m.Register(*reg)
	}
	if err := s.eachScanImage(ctx, id, model, func(img db.Image) error { m.Add(img); return nil }); err != nil {
		return scan.Result{}, false, err
	}
	r = m.Result()
	return r, r.Images > 0, nil
}

// scanView adds the merged trees to sc (counted by model, when not ""); on
// failure it logs and returns the plain sum.
func (s *Server) scanView(ctx context.Context, sc db.Scan, model string) ScanView {
	v := ScanView{Scan: sc, SumOfCounts: sc.TotalTrees, UnplacedTrees: sc.TotalTrees}
	r, _, err := s.mergeScan(ctx, sc.ScanID, model)
	if err != nil {
		s.log.Error("merge scan trees", "scan", sc.ScanID, "err", err)
		return v
	}
	v.TotalTrees, v.SumOfCounts = r.Total(), r.SumOfCounts
	if model != "" {
		v.Counted = r.Counted
	}
	v.PlacedTrees, v.LocalTrees, v.UnplacedTrees = len(r.Trees), len(r.Local), r.Unplaced
	v.AreaHa, v.TreesPerHa = r.AreaM2/10000, r.PerHa()
	if reg, err := s.registration(ctx, sc.ScanID); err != nil {
		s.log.Error("scan registration", "scan", sc.ScanID, "err", err)
	} else if reg != nil {
		v.Registration = summary(*reg)
	}
	return v
}

// scanExport: GET /v1/scans/{scan_id}/trees.geojson, trees.csv and geo.txt.
func (s *Server) scanExport(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("scan_id")
		var (
			body []byte
			ct   string
			err  error
		)
		if format == "geo.txt" {
			var imgs []db.Image
			src := s.scanImages()
			if src == nil {
				writeError(w, http.StatusNotImplemented, "scans are not available here")
				return
			}
			err = src.EachScanImage(r.Context(), id, func(img db.Image) error {
				img.Count = nil
				imgs = append(imgs, img)
				return nil
			})
			if err == nil && len(imgs) == 0 {
				writeError(w, http.StatusNotFound, fmt.Sprintf("no scan %q", id))
				return
			}
			body, _ = scan.GeoTxt(imgs)
			ct = "text/plain; charset=utf-8"
		} else {
			res, found, merr := s.mergeScan(r.Context(), id, r.URL.Query().Get("model"))
			err = merr
			if err == nil && !found {
				writeError(w, http.StatusNotFound, fmt.Sprintf("no scan %q", id))
				return
			}
			if err == nil && format == "trees.geojson" {
				body, err = scan.GeoJSON(id, res)
				ct = "application/geo+json"
			} else if err == nil {
				body, ct = scan.CSV(res), "text/csv; charset=utf-8"
			}
		}
		if err != nil {
			s.log.Error("export scan", "scan", id, "format", format, "err", err)
			writeError(w, http.StatusInternalServerError, "export failed")
			return
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", safeFile(id)+"-"+format))
		_, _ = w.Write(body)
	}
}

// safeFile keeps the characters of a scan id that are safe in a file name.
func safeFile(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}
