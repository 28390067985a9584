package datacmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/scan"
	"github.com/canopy-forest/canopy/internal/cli"
)

// Export formats.
var exportFormats = map[string]string{
	"geojson": "the trees as an RFC 7946 GeoJSON FeatureCollection (lon, lat)",
	"csv":     "the trees as CSV (tree,lon,lat,score,crown_m,seen_in,image_id,method,model)",
	"gpkg":    "the trees as a GeoPackage layer \"trees\" (needs GDAL's ogr2ogr; --out FILE)",
	"geotxt":  "the photos' positions as OpenDroneMap's geo.txt",
	"odm":     "an OpenDroneMap project: --out DIR gets images/ (the raw photos, EXIF kept) and geo.txt",
	"mosaic":  "the mosaic of the registered photos with the trees drawn (JPEG); placed by GPS, also FILE.tif beside it, a GeoTIFF of it (GDAL)",
}

// Export is canopy-cloud export.
var Export = cli.Command{Name: "export", Summary: "export a scan's trees (GeoJSON, CSV, GeoPackage), photos (OpenDroneMap) or mosaic (JPEG, GeoTIFF)", Run: cmdExport}

func cmdExport(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	usage := "usage: canopy-cloud export --scan ID [--format geojson|csv|gpkg|geotxt|odm|mosaic] [--out FILE|DIR] [flags]\n\nA scan's trees, merged so that each tree is counted once (registered photos in their\ncommon frame, the others by position), its photos or its mosaic. Formats:\n"
	for _, f := range []string{"geojson", "csv", "gpkg", "geotxt", "odm", "mosaic"} {
		usage += fmt.Sprintf("  %-8s %s\n", f, exportFormats[f])
	}
	cli.SetUsage(fs, usage+"Flags:")
	scanID := fs.String("scan", "", "scan `id` to export")
	format := fs.String("format", "geojson", "geojson, csv, gpkg, geotxt, odm or mosaic")
	out := fs.String("out", "", "output `file` (default standard output) or, for odm, folder")
	site.StoreFlags(fs, &c) // the blob store: for odm's photos and the mosaic
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	if *scanID == "" {
		return errors.New("--scan ID is required")
	}
	if _, ok := exportFormats[*format]; !ok {
		return fmt.Errorf("--format %q: want geojson, csv, gpkg, geotxt, odm or mosaic", *format)
	}
	if (*format == "gpkg" || *format == "odm") && *out == "" {
		return fmt.Errorf("--format %s needs --out", *format)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := site.OpenExisting(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	dest := *out
	if dest == "" {
		dest = "standard output"
	}
	if *format == "mosaic" {
		if err := exportMosaic(ctx, c, d, *scanID, *out); err != nil {
			return err
		}
		return site.Audit(ctx, d, db.AuditExport, *scanID, "format mosaic to "+dest)
	}
	var imgs []db.Image
	m := scan.NewMerger(scan.Options{})
	if reg, err := d.GetRegistration(ctx, *scanID); err == nil {
		m.Register(reg)
	} else if !errors.Is(err, db.ErrNotFound) {
		return err
	}
	if err := d.EachScanImage(ctx, *scanID, func(img db.Image) error {
		m.Add(img)
		img.Count = nil // the boxes are merged already; keep the rows light
		imgs = append(imgs, img)
		return nil
	}); err != nil {
		return err
	}
	if len(imgs) == 0 {
		return fmt.Errorf("no scan %q (or it has no images)", *scanID)
	}
	res := m.Result()
	if err := writeExport(ctx, c, *scanID, *format, *out, res, imgs); err != nil {
		return err
	}
	return site.Audit(ctx, d, db.AuditExport, *scanID, fmt.Sprintf("format %s to %s: %d trees, %d images", *format, dest, res.Total(), len(imgs)))
}

// writeExport writes the scan's trees res (or its photos imgs) in format
// to out ("": standard output).
func writeExport(ctx context.Context, c config.Serve, scanID, format, out string, res scan.Result, imgs []db.Image) error {
	var body []byte
	var err error
	switch format {
	case "geojson", "gpkg":
		if body, err = scan.GeoJSON(scanID, res); err != nil {
			return err
		}
	case "csv":
		body = scan.CSV(res)
	case "geotxt":
		body, _ = scan.GeoTxt(imgs)
	case "odm":
		return exportODM(ctx, c, imgs, out)
	}
	if format == "gpkg" {
		return writeGPKG(ctx, body, out)
	}
	perHa := "n/a"
	if v := res.PerHa(); v != nil {
		perHa = fmt.Sprintf("%.1f", *v)
	}
	fmt.Fprintf(os.Stderr, "scan %s: %d trees (%d placed, %d on a local map, merged from %d detections in %d images; %d not placed), %.3f ha, %s trees/ha\n",
		scanID, res.Total(), len(res.Trees), len(res.Local), res.Detections, res.Counted, res.Unplaced, res.AreaM2/10000, perHa)
	if out == "" {
		_, err = os.Stdout.Write(body)
		return err
	}
	return os.WriteFile(out, body, 0o644)
}

// writeGPKG converts the GeoJSON to a GeoPackage with GDAL's ogr2ogr.
func writeGPKG(ctx context.Context, geojson []byte, out string) error {
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		return errors.New("--format gpkg needs GDAL's ogr2ogr (Debian: gdal-bin)")
	}
	tmp, err := os.MkdirTemp("", "canopy-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	in := filepath.Join(tmp, "trees.geojson")
	if err := os.WriteFile(in, geojson, 0o600); err != nil {
		return err
	}
	os.Remove(out) // ogr2ogr appends to an existing GeoPackage otherwise
	cmd := exec.CommandContext(ctx, "ogr2ogr", "-f", "GPKG", "-nln", "trees", out, in)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ogr2ogr: %w: %s", err, b)
	}
	return nil
}

// exportODM writes dir/images/<name> (the raw photos as stored, EXIF kept)
// and dir/geo.txt.
func exportODM(ctx context.Context, c config.Serve, imgs []db.Image, dir string) error {
	blobs, err := site.OpenBlobs(ctx, c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return err
	}
	txt, names := scan.GeoTxt(imgs)
	n := 0
	for _, img := range imgs {
		p := filepath.Join(dir, "images", names[img.ItemID])
		if _, err := blob.GetFile(ctx, blobs, blob.Raw, img.RawKey, p); err != nil {
			return fmt.Errorf("image %s: %w", img.ItemID, err)
		}
		n++
	}
	if err := os.WriteFile(filepath.Join(dir, "geo.txt"), txt, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d photos to %s and %s (run ODM with --geo geo.txt)\n", n, filepath.Join(dir, "images"), filepath.Join(dir, "geo.txt"))
	return nil
}
