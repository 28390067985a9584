package api

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png" // count masks
	"net/http"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/change"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/place"
	"github.com/canopy-forest/canopy/cloud/scan"
)

// ChangeView is the body of GET /v1/scans/{scan_id}/change?base=: what
// changed from the base scan to this one.
type ChangeView struct {
	ScanID    string `json:"scan_id"`
	Base      string `json:"base"`
	Model     string `json:"model,omitempty"`      // the counts compared on this scan ("": the newest)
	BaseModel string `json:"base_model,omitempty"` // and on the base
	change.Result
	// Match says how trees were matched, in words.
	Match string `json:"match"`
}

// matchRule is ChangeView.Match.
const matchRule = "one to one, nearest pairs first, when their centres are closer than the larger crown radius, " +
	"after taking out the offset between the scans; lost and new only inside the area both scans cover, " +
	"more than a crown radius from its edge, and scored at least min_score"

// maxShiftLimit bounds ?max_shift_m=.
const maxShiftLimit = 50

// scanChange: GET /v1/scans/{scan_id}/change?base=&model=&base_model=&max_shift_m=&min_score=,
// as JSON or (geojson) as a GeoJSON FeatureCollection of the lost and new
// trees.
func (s *Server) scanChange(asGeoJSON bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		id, base := r.PathValue("scan_id"), v.Get("base")
		cv := ChangeView{ScanID: id, Base: base, Model: v.Get("model"), BaseModel: v.Get("base_model"), Match: matchRule}
		if base == "" {
			writeError(w, http.StatusBadRequest, "base: give the scan to compare with (?base=SCAN_ID)")
			return
		}
		if cv.BaseModel == "" {
			cv.BaseModel = cv.Model
		}
		for _, m := range []string{cv.Model, cv.BaseModel} {
			if m != "" && badModel(w, m) {
				return
			}
		}
		o := change.Options{MaxShiftM: change.DefaultMaxShiftM}
		if s := v.Get("max_shift_m"); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f < 0 || f > maxShiftLimit {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("max_shift_m: want metres in [0, %d] (0: no offset search), got %q", maxShiftLimit, s))
				return
			}
			o.MaxShiftM = f
		}
		minScore := -1.0
		if s := v.Get("min_score"); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f < 0 || f > 1 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("min_score: want a detection score in [0, 1] (0: every unmatched tree is lost or new), got %q", s))
				return
			}
			minScore = f
		}
		in := map[string]change.Scan{}
		for _, sc := range []struct{ id, model string }{{base, cv.BaseModel}, {id, cv.Model}} {
			c, found, err := s.changeInput(r.Context(), sc.id, sc.model)
			if err != nil {
				s.log.Error("scan change", "scan", id, "base", base, "err", err)
				writeError(w, http.StatusInternalServerError, "scan change failed")
				return
			}
			if !found {
				writeError(w, http.StatusNotFound, fmt.Sprintf("no scan %q", sc.id))
				return
			}
			in[sc.id+"\x00"+sc.model] = c
		}
		b, c := in[base+"\x00"+cv.BaseModel], in[id+"\x00"+cv.Model]
		o.MinScore = minScore
		if minScore < 0 {
			o.MinScore = change.AutoMinScore(b, c)
		}
		cv.Result = change.Compare(b, c, o)
		if cv.BaseModel == cv.Model {
			cv.BaseModel = "" // said once, in model
		}
		if !asGeoJSON {
			writeJSON(w, http.StatusOK, cv)
			return
		}
		body, err := changeGeoJSON(cv)
		if err != nil {
			s.log.Error("scan change geojson", "scan", id, "err", err)
			writeError(w, http.StatusInternalServerError, "scan change failed")
			return
		}
		w.Header().Set("Content-Type", "application/geo+json")
		_, _ = w.Write(body)
	}
}

// maskOf is what sampling one image's count mask needs.
type maskOf struct {
	where place.Image
	key   string
	gsd   float64
}

// changeInput reads a scan for change.Compare: its trees merged by
// position and its placed images' footprints (counted by model, when not
// ""), and samples of their count masks. found is false for a scan with no
// images.
func (s *Server) changeInput(ctx context.Context, id, model string) (c change.Scan, found bool, err error) {
	m := scan.NewMerger(scan.Options{})
	var masks []maskOf
	err = s.eachScanImage(ctx, id, model, func(img db.Image) error {
		m.Add(img)
		if img.Count != nil && img.Count.Positions != "" && img.Count.MaskKey != "" {
			masks = append(masks, maskOf{where: place.FromDB(img), key: img.Count.MaskKey, gsd: img.Count.GSD})
		}
		return nil
	})
	if err != nil {
		return change.Scan{}, false, err
	}
	r := m.Result()
	c = change.Scan{Trees: r.Trees, Footprints: r.Footprints, Unplaced: r.Unplaced}
	// The masks are read after the rows: reading blobs while the
	// database's rows are open would hold its connection.
	for _, mk := range masks {
		p, err := place.New(mk.where)
		if err != nil || s.v1.Blobs == nil {
			continue
		}
		data, _, err := s.v1.Blobs.Get(ctx, blob.Processed, mk.key)
		if err != nil {
			s.log.Warn("count mask not readable: forest cover without it", "key", mk.key, "err", err)
			continue
		}
		mask, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			s.log.Warn("count mask not decodable: forest cover without it", "key", mk.key, "err", err)
			continue
		}
		c.Forest = append(c.Forest, change.MaskSamples(p, mask, mk.where.Width, mk.where.Height, mk.gsd)...)
	}
	return c, r.Images > 0, nil
}

// changeGeoJSON is a change as an RFC 7946 FeatureCollection: a Point per
// lost tree (property change "lost") and per new tree ("new"), with the
// figures as foreign members.
func changeGeoJSON(cv ChangeView) ([]byte, error) {
	fc := geojson.NewFeatureCollection()
	for _, l := range []struct {
		what  string
		trees []change.Tree
	}{{"lost", cv.Lost}, {"new", cv.New}} {
		for _, t := range l.trees {
			f := geojson.NewFeature(orb.Point{t.Lon, t.Lat})
			f.Properties = geojson.Properties{"change": l.what, "crown_m": t.CrownM, "score": t.Score, "image_id": t.ImageID}
			fc.Append(f)
		}
	}
	fc.ExtraMembers = geojson.Properties{
		"scan_id": cv.ScanID, "base": cv.Base, "kept": cv.Kept, "lost": len(cv.Lost), "new": len(cv.New),
		"common_area_ha": cv.CommonAreaHa, "trees_per_ha": cv.TreesPerHa, "forest_cover": cv.ForestCover, "offset": cv.Offset,
	}
	return fc.MarshalJSON()
}
