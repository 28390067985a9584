package datacmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
)

// exportMosaic writes the scan's mosaic (trees drawn) to out, or to
// standard output; when registration placed it by GPS and out is a file,
// also out's name with ".tif": the plain mosaic as a GeoTIFF in WGS 84
// (gdal_translate).
func exportMosaic(ctx context.Context, c config.Serve, d *db.DB, scanID, out string) error {
	reg, err := d.GetRegistration(ctx, scanID)
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("scan %q has no registration (no photo of it counted since registration came, or no such scan)", scanID)
	}
	if err != nil {
		return err
	}
	if reg.Mosaic == nil {
		why := reg.Note
		if why == "" {
			why = "registration " + reg.State
		}
		return fmt.Errorf("scan %q has no mosaic: %s", scanID, why)
	}
	blobs, err := site.OpenBlobs(ctx, c)
	if err != nil {
		return err
	}
	jpg, _, err := blobs.Get(ctx, blob.Processed, reg.Mosaic.Key)
	if err != nil {
		return fmt.Errorf("mosaic of %q: %w", scanID, err)
	}
	m := reg.Mosaic
	fmt.Fprintf(os.Stderr, "scan %s: mosaic %dx%d at %.3f m per pixel of %d registered photos, %d trees drawn\n",
		scanID, m.Width, m.Height, m.Res, m.Photos, m.Trees)
	if out == "" {
		_, err = os.Stdout.Write(jpg)
		return err
	}
	if err := os.WriteFile(out, jpg, 0o644); err != nil {
		return err
	}
	if !m.Geo || reg.Origin == nil {
		fmt.Fprintln(os.Stderr, "no GeoTIFF: the mosaic is a local map (its photos have no GPS)")
		return nil
	}
	if _, err := exec.LookPath("gdal_translate"); err != nil {
		fmt.Fprintln(os.Stderr, "no GeoTIFF: it needs GDAL's gdal_translate (Debian: gdal-bin)")
		return nil
	}
	plain, _, err := blobs.Get(ctx, blob.Processed, m.PlainKey)
	if err != nil {
		return fmt.Errorf("plain mosaic of %q: %w", scanID, err)
	}
	tif := strings.TrimSuffix(out, filepath.Ext(out)) + ".tif"
	if err := writeGeoTIFF(ctx, plain, *m, geo.LonLat{Lon: reg.Origin[0], Lat: reg.Origin[1]}, tif); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s (GeoTIFF, EPSG:4326)\n", out, tif)
	return nil
}

// writeGeoTIFF writes the JPEG of a mosaic placed on the plane at origin
// as a GeoTIFF in WGS 84: the plane's metres are linear in longitude and
// latitude, so the mosaic's corners give its exact transform.
func writeGeoTIFF(ctx context.Context, jpg []byte, m db.MosaicInfo, origin geo.LonLat, out string) error {
	tmp, err := os.MkdirTemp("", "canopy-mosaic-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	in := filepath.Join(tmp, "mosaic.jpg")
	if err := os.WriteFile(in, jpg, 0o600); err != nil {
		return err
	}
	pl := geo.NewPlane(origin)
	ul := pl.ToLonLat(m.X0, m.Y0)
	lr := pl.ToLonLat(m.X0+float64(m.Width)*m.Res, m.Y0-float64(m.Height)*m.Res)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 9, 64) }
	os.Remove(out)
	cmd := exec.CommandContext(ctx, "gdal_translate", "-q", "-of", "GTiff", "-a_srs", "EPSG:4326",
		"-a_ullr", f(ul.Lon), f(ul.Lat), f(lr.Lon), f(lr.Lat), "-co", "COMPRESS=DEFLATE", "-co", "TILED=YES", in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gdal_translate: %w: %s", err, b)
	}
	return nil
}
