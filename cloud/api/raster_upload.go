package api

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/raster"
	"github.com/canopy-forest/canopy/internal/photo"
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
	if !sp.on || !isTIFFHeader(head) {
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

func isTIFFHeader(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:4]) {
	case "II*\x00", "MM\x00*", "II+\x00", "MM\x00+":
		return true
	}
	return false
}

// uploadRaster stores a TIFF upload spooled to u.File: GDAL checks it
// (size, 8-bit bands, georeferencing), the file is streamed to the raw
// bucket, and the row records its transform, CRS and pixel size.
func (s *Server) uploadRaster(w http.ResponseWriter, r *http.Request, u Upload) {
	ctx := r.Context()
	in, err := raster.Inspect(ctx, u.File)
	if err != nil {
		writeError(w, http.StatusUnsupportedMediaType, "image part is not a TIFF that GDAL can read: "+err.Error())
		return
	}
	for i, t := range in.BandTypes {
		if t != "Byte" {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("band %d is %s: only 8-bit (Byte) rasters are counted", i+1, t))
			return
		}
	}
	id := "up-" + rand.Text()
	at := time.Now().UTC()
	if u.Meta.CapturedAt != nil {
		at = u.Meta.CapturedAt.UTC()
	}
	prefix := u.Meta.Device
	if prefix == "" {
		prefix = "upload"
	}
	key := blob.Key(prefix, at, id, "image.tif")
	log := s.log.With("item", id)
	img := db.Image{
		ItemID: id, Device: u.Meta.Device, CapturedAt: at, Lat: u.Meta.Lat, Lon: u.Meta.Lon,
		Width: in.Width, Height: in.Height, ScanID: u.Meta.ScanID, AddressID: u.Meta.AddressID, TreeType: u.Meta.TreeType,
		Source: "upload", Origin: db.OriginUpload, RawKey: key, ContentSHA256: u.SHA256,
	}
	switch {
	case u.Meta.GSD != nil:
		img.GSD, img.GSDSource = *u.Meta.GSD, "upload"
	case in.GeoRef != nil:
		if v := photo.PixelSizeM(*in.GeoRef); v > 0 && v <= 100 {
			img.GSD, img.GSDSource = v, photo.SourceGeoTIFF
		}
	}
	if in.GeoRef != nil && len(in.GeoRef.CRS) <= db.MaxCRSBytes {
		img.GeoRef = &db.GeoRef{CRS: in.GeoRef.CRS, Transform: in.GeoRef.Transform}
		if in.GeoRef.CRS == "" {
			img.GeoNote = "GeoTIFF without a coordinate reference system"
		}
	} else if in.GeoRef == nil {
		img.GeoNote = "TIFF without georeferencing"
	}
	if err := blob.PutFile(ctx, s.v1.Blobs, blob.Raw, key, u.File, "image/tiff"); err != nil {
		log.Error("store raster upload", "err", err)
		writeError(w, http.StatusInternalServerError, "storing the image failed")
		return
	}
	if _, err := s.v1.Store.PutImage(ctx, img); err != nil {
		_ = s.v1.Blobs.Delete(ctx, blob.Raw, key)
		if errors.Is(err, db.ErrInvalid) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		log.Error("record raster upload", "err", err)
		writeError(w, http.StatusInternalServerError, "recording the image failed")
		return
	}
	log.Info("raster upload stored", "scan", u.Meta.ScanID, "width", in.Width, "height", in.Height,
		"compression", in.Compression, "tiled", in.Tiled, "bigtiff", in.BigTIFF, "crs", shortCRS(img.GeoRef))
	writeJSON(w, http.StatusAccepted, UploadAccepted{ItemID: id, State: db.StateStored})
}

func shortCRS(g *db.GeoRef) string {
	if g == nil {
		return ""
	}
	c := g.CRS
	if i := strings.IndexByte(c, '['); i > 0 && len(c) > 60 {
		c = c[:i]
	}
	return c
}

// uploadGround records what an in-memory upload says of where it lies:
// the metadata's gsd_m, else the photo's own (EXIF camera and DJI XMP, or
// GeoTIFF tags), its height, yaw and pitch, and the EXIF GPS position when
// the metadata gave none.
func uploadGround(img *db.Image, u Upload) {
	m := photo.Read(u.Data)
	var o photo.Options
	if u.Meta.GSD != nil {
		o.GSDM = *u.Meta.GSD
	}
	g := m.Ground(u.Width, o)
	img.GSD, img.GSDSource, img.HeightM = g.GSDM, g.Source, g.HeightM
	if u.Meta.GSD != nil {
		img.GSDSource = "upload"
	}
	img.YawDeg, img.GimbalPitchDeg = m.Yaw(), m.GimbalPitchDeg
	if m.GeoTIFF != nil {
		img.GeoRef = &db.GeoRef{CRS: m.GeoTIFF.CRS, Transform: m.GeoTIFF.Transform}
	}
	notes := append([]string(nil), m.Problems...)
	if g.Note != "" {
		notes = append(notes, g.Note)
	}
	img.GeoNote = strings.Join(notes, "; ")
	if img.Lat == nil && m.GPS != nil {
		lat, lon := m.GPS.Lat, m.GPS.Lon
		img.Lat, img.Lon = &lat, &lon
		img.GPSAltM = m.GPS.Alt
	}
}
