package scan

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/canopy-forest/canopy/cloud/db"
)

// GeoJSON is the scan's trees as an RFC 7946 FeatureCollection: one Point
// feature per tree at [lon, lat] (WGS 84), with its score, image id,
// method, model, crown diameter and the number of images it was seen in,
// and the scan's totals as foreign members.
func GeoJSON(scanID string, r Result) ([]byte, error) {
	fc := geojson.NewFeatureCollection()
	var bound orb.Bound
	for i, t := range r.Trees {
		p := orb.Point{round(t.Lon, 7), round(t.Lat, 7)}
		f := geojson.NewFeature(p)
		f.ID = i + 1
		f.Properties = geojson.Properties{
			"tree": i + 1, "score": round(t.Score, 4), "image_id": t.ImageID, "method": t.Method, "model": t.Model,
			"crown_m": round(t.CrownM, 2), "seen_in": t.SeenIn,
		}
		fc.Append(f)
		if i == 0 {
			bound = p.Bound()
		} else {
			bound = bound.Extend(p)
		}
	}
	if len(r.Trees) > 0 {
		fc.BBox = geojson.NewBBox(bound)
	}
	fc.ExtraMembers = geojson.Properties{
		"scan_id": scanID, "total_trees": r.Total(), "placed_trees": len(r.Trees), "unplaced_trees": r.Unplaced,
		"area_ha": round(r.AreaM2/10000, 4),
	}
	if v := r.PerHa(); v != nil {
		fc.ExtraMembers["trees_per_ha"] = round(*v, 1)
	}
	return fc.MarshalJSON()
}

// CSVHeader is the first line of CSV.
var CSVHeader = []string{"tree", "lon", "lat", "score", "crown_m", "seen_in", "image_id", "method", "model"}

// CSV is the scan's trees, one line each under CSVHeader.
func CSV(r Result) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(CSVHeader)
	for i, t := range r.Trees {
		w.Write([]string{strconv.Itoa(i + 1), ftoa(t.Lon, 7), ftoa(t.Lat, 7), ftoa(t.Score, 4), ftoa(t.CrownM, 2),
			strconv.Itoa(t.SeenIn), t.ImageID, t.Method, t.Model})
	}
	w.Flush()
	return b.Bytes()
}

// GeoTxt is OpenDroneMap's geo.txt of the scan's images that have a GPS
// position: "EPSG:4326", then one line per image, "name lon lat [alt]".
// names gives each image's file name there: its source name when that is
// unique in the scan and safe as a file name, else its item id with the
// raw object's extension.
func GeoTxt(images []db.Image) (text []byte, names map[string]string) {
	names = FileNames(images)
	var b bytes.Buffer
	b.WriteString("EPSG:4326\n")
	for _, img := range images {
		if img.Lat == nil || img.Lon == nil {
			continue
		}
		fmt.Fprintf(&b, "%s %s %s", names[img.ItemID], ftoa(*img.Lon, 8), ftoa(*img.Lat, 8))
		if img.GPSAltM != nil {
			fmt.Fprintf(&b, " %s", ftoa(*img.GPSAltM, 3))
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), names
}

// FileNames names each image's file for an export: its source name when
// unique in the set and safe, else "<item id><ext of the raw object>".
func FileNames(images []db.Image) map[string]string {
	seen := map[string]int{}
	for _, img := range images {
		seen[strings.ToLower(img.Source)]++
	}
	names := make(map[string]string, len(images))
	for _, img := range images {
		n := img.Source
		if n == "" || seen[strings.ToLower(n)] > 1 || !safeName(n) {
			n = img.ItemID + path.Ext(img.RawKey)
		}
		names[img.ItemID] = n
	}
	return names
}

func safeName(n string) bool {
	if n == "." || n == ".." || len(n) > 200 || path.Ext(n) == "" {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func ftoa(v float64, digits int) string { return strconv.FormatFloat(v, 'f', digits, 64) }
