package api

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/cloud/raster"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/sync/wire"
)

// RasterUploads configures how POST /v1/images takes TIFF images (GeoTIFF
// orthophotos as OpenDroneMap writes them, larger than memory): when
// Enabled, a TIFF image part goes to a file on disk as it arrives, GDAL
// reads its header (never its pixels), the file is streamed to the blob
// store, and the counting workers read it window by window. Other images
// are read into memory as before.
type RasterUploads struct {
	Enabled  bool   // false: TIFFs are decoded in memory like other images
	MaxBytes int64  // largest TIFF upload; 0: 4 GiB
	Dir      string // where TIFFs wait while they are checked ("" = the system's temporary folder)
}

// DefaultMaxRasterBytes is RasterUploads.MaxBytes when unset.
const DefaultMaxRasterBytes = 4 << 30

// spool reads the image part of an upload: a TIFF to a file when on, the
// rest into memory (at most maxMem bytes when positive).
type spool struct {
	on      bool
	dir     string
	maxMem  int64
	maxFile int64
}

// spool is the server's spool for uploads.
func (s *Server) spool() spool {
	if !s.v1.Rasters.Enabled {
		return spool{}
	}
	return spool{on: true, dir: s.v1.Rasters.Dir, maxMem: s.v1.MaxUploadBytes, maxFile: s.v1.Rasters.MaxBytes}
}

// uploadLimit bounds the body of POST /v1/images.
func (s *Server) uploadLimit() int64 {
	if s.v1.Rasters.Enabled {
		return max(s.v1.MaxUploadBytes, s.v1.Rasters.MaxBytes) + 128<<10 // and the metadata part
	}
	return s.v1.MaxUploadBytes
}

// read reads one image part: data in memory, or the path of the file a
// TIFF was written to, with its SHA-256.
func (sp spool) read(p io.Reader) (data []byte, file, sum string, err error) {
	br := bufio.NewReader(p)
	head, _ := br.Peek(4)
	if !sp.on || !raster.IsTIFF(head) {
		r := io.Reader(br)
		if sp.maxMem > 0 {
			r = io.LimitReader(br, sp.maxMem+1)
		}
		data, err = io.ReadAll(r)
		if err == nil && sp.maxMem > 0 && int64(len(data)) > sp.maxMem {
			return nil, "", "", bad(http.StatusRequestEntityTooLarge, "image larger than %d bytes (TIFF orthophotos may be up to %d)", sp.maxMem, sp.maxFile)
		}
		return data, "", "", err
	}
	f, err := os.CreateTemp(sp.dir, "canopy-upload-*.tif")
	if err != nil {
		return nil, "", "", fmt.Errorf("spool upload: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(br, sp.maxFile+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > sp.maxFile {
		err = bad(http.StatusRequestEntityTooLarge, "TIFF larger than %d bytes", sp.maxFile)
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, "", "", err
	}
	return nil, f.Name(), hexSum(h), nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// rasterFile checks a TIFF upload spooled to u.File with GDAL (size,
// 8-bit bands, georeferencing), records on m its size, pixel size and
// georeferencing, and returns the file for the ingest Saver to stream to
// the raw bucket. A refusal is an HTTP status and a message.
func rasterFile(ctx context.Context, m *wire.Meta, u Upload) (*ingest.ImageFile, int, string) {
	in, err := raster.Inspect(ctx, u.File)
	if err != nil {
		return nil, http.StatusUnsupportedMediaType, "image part is not a TIFF that GDAL can read: " + err.Error()
	}
	for i, t := range in.BandTypes {
		if t != "Byte" {
			return nil, http.StatusUnprocessableEntity, fmt.Sprintf("band %d is %s: only 8-bit (Byte) rasters are counted", i+1, t)
		}
	}
	m.Width, m.Height = in.Width, in.Height
	switch {
	case u.Meta.GSD != nil:
		m.GSD, m.GSDSource = *u.Meta.GSD, "upload"
	case in.GeoRef != nil:
		if v := photo.PixelSizeM(*in.GeoRef); v > 0 && v <= 100 {
			m.GSD, m.GSDSource = v, photo.SourceGeoTIFF
		}
	}
	if in.GeoRef != nil && len(in.GeoRef.CRS) <= db.MaxCRSBytes {
		m.GeoRef = &wire.GeoRef{CRS: in.GeoRef.CRS, Transform: in.GeoRef.Transform}
		if in.GeoRef.CRS == "" {
			m.GeoNote = "GeoTIFF without a coordinate reference system"
		}
	} else if in.GeoRef == nil {
		m.GeoNote = "TIFF without georeferencing"
	}
	return &ingest.ImageFile{Path: u.File, Format: "tiff", SHA256: u.SHA256, Width: in.Width, Height: in.Height}, 0, ""
}

// uploadGround records on m what an in-memory upload says of where it
// lies: the metadata's gsd_m, else the photo's own (EXIF camera and DJI
// XMP, or GeoTIFF tags), its height, yaw and pitch, and the EXIF GPS
// position when the metadata gave none.
func uploadGround(m *wire.Meta, u Upload) {
	p := photo.Read(u.Data)
	var o photo.Options
	if u.Meta.GSD != nil {
		o.GSDM = *u.Meta.GSD
	}
	g := p.Ground(u.Width, o)
	m.GSD, m.GSDSource, m.HeightM = g.GSDM, g.Source, g.HeightM
	if u.Meta.GSD != nil {
		m.GSDSource = "upload"
	}
	m.YawDeg, m.GimbalPitchDeg = p.Yaw(), p.GimbalPitchDeg
	if p.GeoTIFF != nil {
		m.GeoRef = &wire.GeoRef{CRS: p.GeoTIFF.CRS, Transform: p.GeoTIFF.Transform}
	}
	notes := append([]string(nil), p.Problems...)
	if g.Note != "" {
		notes = append(notes, g.Note)
	}
	m.GeoNote = strings.Join(notes, "; ")
	if m.GPS == nil && p.GPS != nil {
		m.GPS = &wire.GPS{Lat: p.GPS.Lat, Lon: p.GPS.Lon, Alt: p.GPS.Alt}
	}
}
