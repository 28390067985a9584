package servecmd

import (
	"flag"
	"fmt"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/raster"
)

// The issue-5 API's flags of serve.
var apiFlags struct {
	auth           string
	maxUploadBytes int64
	maxRasterBytes int64
}

func registerAPIFlags(fs *flag.FlagSet) {
	fs.StringVar(&apiFlags.auth, "auth", "on", "bearer tokens on /v1 (on, or off for local demos only); create tokens with canopy-cloud token create")
	fs.Int64Var(&apiFlags.maxUploadBytes, "max-upload-bytes", 32<<20, "largest POST /v1/images body, in `bytes`")
	fs.Int64Var(&apiFlags.maxRasterBytes, "max-raster-bytes", api.DefaultMaxRasterBytes, "largest TIFF (GeoTIFF orthophoto) upload, in `bytes`: written to disk and read window by window through GDAL")
}

// extendAPI adds the /v1 routes (uploads, scans, devices, auth, the
// dashboard) to s.API before serving starts.
func extendAPI(s *services) error {
	if apiFlags.auth != "on" && apiFlags.auth != "off" {
		return fmt.Errorf("--auth %q: want on or off", apiFlags.auth)
	}
	if apiFlags.auth == "off" {
		s.Log.Warn("authentication is off (--auth=off): anyone who reaches the HTTP port can read and upload")
	}
	rasters := api.RasterUploads{Enabled: raster.Available() == nil, MaxBytes: apiFlags.maxRasterBytes}
	if !rasters.Enabled {
		s.Log.Warn("GDAL's tools are not installed (Debian: gdal-bin): TIFF uploads are decoded in memory, without georeferencing from GDAL")
	}
	s.API.EnableV1(api.V1Options{
		Store: s.DB, Blobs: s.Blobs, Saver: s.Saver, MaxUploadBytes: apiFlags.maxUploadBytes,
		MaxPixels: s.Config.MaxPixels, AuthOff: apiFlags.auth == "off",
		Scans: s.DB, Rasters: rasters,
	})
	return nil
}
