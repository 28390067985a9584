package api

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // upload decoders
	_ "image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"time"

	_ "golang.org/x/image/tiff"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// UploadMeta is the "metadata" part of POST /v1/images.
type UploadMeta struct {
	ScanID     string     `json:"scan_id"`
	AddressID  string     `json:"address_id"`
	TreeType   string     `json:"tree_type"`
	Device     string     `json:"device,omitempty"`
	CapturedAt *time.Time `json:"captured_at,omitempty"`
	Lat        *float64   `json:"lat,omitempty"`
	Lon        *float64   `json:"lon,omitempty"`
	GSD        *float64   `json:"gsd_m,omitempty"` // metres per pixel, overriding what the image says
}

// Upload is a validated upload, ready to store.
type Upload struct {
	Meta   UploadMeta
	Data   []byte
	Format string // "jpeg", "png" or "tiff"
	Width  int
	Height int
	// File is a TIFF written to disk as it arrived (raster_upload.go), its
	// SHA-256 in SHA256; Data is nil then, and the caller removes File.
	File   string
	SHA256 string
}

// UploadError is a refused upload with its HTTP status.
type UploadError struct {
	Status int
	Msg    string
}

func (e *UploadError) Error() string { return e.Msg }

func bad(status int, format string, a ...any) *UploadError {
	return &UploadError{Status: status, Msg: fmt.Sprintf(format, a...)}
}

// ParseUpload reads and fully validates a multipart upload (the image is
// decoded once, after its declared size is checked against maxPixels).
func ParseUpload(body io.Reader, contentType string, maxPixels int) (Upload, error) {
	return parseUpload(body, contentType, maxPixels, spool{})
}

// parseUpload is ParseUpload with a TIFF image part spooled to disk (sp,
// raster_upload.go), left for GDAL to check.
func parseUpload(body io.Reader, contentType string, maxPixels int, sp spool) (_ Upload, err error) {
	var u Upload
	defer func() {
		if err != nil && u.File != "" {
			os.Remove(u.File) // a refused upload leaves nothing behind
		}
	}()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return Upload{}, bad(http.StatusUnsupportedMediaType, "want a multipart/form-data body with parts image and metadata")
	}
	mr := multipart.NewReader(body, params["boundary"])
	var haveImage, haveMeta bool
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Upload{}, tooLargeOr(err, bad(http.StatusBadRequest, "malformed multipart body: %v", err))
		}
		switch p.FormName() {
		case "image":
			if haveImage {
				return Upload{}, bad(http.StatusBadRequest, "more than one image part")
			}
			haveImage = true
			if u.Data, u.File, u.SHA256, err = sp.read(p); err != nil {
				var ue *UploadError
				if errors.As(err, &ue) {
					return u, ue
				}
				return u, tooLargeOr(err, bad(http.StatusBadRequest, "reading the image part: %v", err))
			}
		case "metadata":
			if haveMeta {
				return Upload{}, bad(http.StatusBadRequest, "more than one metadata part")
			}
			haveMeta = true
			b, err := io.ReadAll(io.LimitReader(p, 64<<10+1))
			if err != nil {
				return Upload{}, tooLargeOr(err, bad(http.StatusBadRequest, "reading the metadata part: %v", err))
			}
			if len(b) > 64<<10 {
				return Upload{}, bad(http.StatusRequestEntityTooLarge, "metadata part larger than 64 KiB")
			}
			if u.Meta, err = decodeMeta(b); err != nil {
				return Upload{}, err
			}
		default:
			return Upload{}, bad(http.StatusBadRequest, "unknown part %q (want image and metadata)", p.FormName())
		}
	}
	if !haveImage || (len(u.Data) == 0 && u.File == "") {
		return u, bad(http.StatusBadRequest, "no image part (a JPEG, PNG or TIFF file named \"image\")")
	}
	if !haveMeta {
		return u, bad(http.StatusBadRequest, "no metadata part (JSON with scan_id, address_id, tree_type)")
	}
	if u.File != "" {
		return u, nil // a TIFF on disk: GDAL checks it (uploadRaster)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(u.Data))
	if err != nil {
		return Upload{}, bad(http.StatusUnsupportedMediaType, "image part is not a JPEG, PNG or TIFF image: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Upload{}, bad(http.StatusUnprocessableEntity, "image declares %dx%d pixels", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return Upload{}, bad(http.StatusRequestEntityTooLarge, "image declares %dx%d pixels, more than the limit of %d", cfg.Width, cfg.Height, maxPixels)
	}
	if _, _, err := image.Decode(bytes.NewReader(u.Data)); err != nil {
		return Upload{}, bad(http.StatusUnprocessableEntity, "corrupt %s image: %v", format, err)
	}
	u.Format, u.Width, u.Height = format, cfg.Width, cfg.Height
	return u, nil
}

func tooLargeOr(err error, other *UploadError) *UploadError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return bad(http.StatusRequestEntityTooLarge, "upload larger than %d bytes", mbe.Limit)
	}
	return other
}

func decodeMeta(b []byte) (UploadMeta, error) {
	var m UploadMeta
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, bad(http.StatusBadRequest, "metadata: %v", err)
	}
	if dec.More() {
		return m, bad(http.StatusBadRequest, "metadata: more than one JSON value")
	}
	var errs []error
	check := func(what, v string, required bool) {
		switch {
		case v == "" && required:
			errs = append(errs, fmt.Errorf("%s is required", what))
		case len(v) > 128:
			errs = append(errs, fmt.Errorf("%s longer than 128 bytes", what))
		default:
			for i := 0; i < len(v); i++ {
				if v[i] < 0x20 || v[i] == 0x7f {
					errs = append(errs, fmt.Errorf("%s has a control character", what))
					break
				}
			}
		}
	}
	check("scan_id", m.ScanID, true)
	check("address_id", m.AddressID, false)
	check("tree_type", m.TreeType, false)
	if m.Device != "" {
		if err := db.ValidDevice(m.Device); err != nil {
			errs = append(errs, fmt.Errorf("device: %w", err))
		}
	}
	if (m.Lat == nil) != (m.Lon == nil) {
		errs = append(errs, errors.New("give both lat and lon, or neither"))
	}
	if m.Lat != nil && (*m.Lat < -90 || *m.Lat > 90 || *m.Lat != *m.Lat) {
		errs = append(errs, fmt.Errorf("lat %v not in [-90, 90]", *m.Lat))
	}
	if m.Lon != nil && (*m.Lon < -180 || *m.Lon > 180 || *m.Lon != *m.Lon) {
		errs = append(errs, fmt.Errorf("lon %v not in [-180, 180]", *m.Lon))
	}
	if m.GSD != nil && !(*m.GSD > 0 && *m.GSD <= 100) {
		errs = append(errs, fmt.Errorf("gsd_m %v not in (0, 100] metres per pixel", *m.GSD))
	}
	if err := errors.Join(errs...); err != nil {
		return m, bad(http.StatusBadRequest, "metadata: %v", err)
	}
	return m, nil
}

// UploadAccepted is the body of a 202 answer to POST /v1/images.
type UploadAccepted struct {
	ItemID string `json:"item_id"`
	State  string `json:"state"`
}

// upload: POST /v1/images, stored like a device item and queued for counting.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.uploadLimit())
	u, err := parseUpload(r.Body, r.Header.Get("Content-Type"), s.v1.MaxPixels, s.spool())
	if err != nil {
		var ue *UploadError
		if errors.As(err, &ue) {
			writeError(w, ue.Status, ue.Msg)
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if u.File != "" { // a TIFF orthophoto on disk (raster_upload.go)
		defer os.Remove(u.File)
		s.uploadRaster(w, r, u)
		return
	}
	sum := sha256.Sum256(u.Data)
	id := "up-" + rand.Text()
	at := time.Now().UTC()
	if u.Meta.CapturedAt != nil {
		at = u.Meta.CapturedAt.UTC()
	}
	dev := u.Meta.Device
	prefix := dev
	if prefix == "" {
		prefix = "upload"
	}
	ext := map[string]string{"jpeg": "jpg", "png": "png", "tiff": "tif"}[u.Format]
	key := blob.Key(prefix, at, id, "image."+ext)
	log := s.log.With("item", id)
	if err := s.v1.Blobs.Put(r.Context(), blob.Raw, key, u.Data, "image/"+u.Format); err != nil {
		log.Error("store upload", "err", err)
		writeError(w, http.StatusInternalServerError, "storing the image failed")
		return
	}
	img := db.Image{
		ItemID: id, Device: dev, CapturedAt: at, Lat: u.Meta.Lat, Lon: u.Meta.Lon,
		Width: u.Width, Height: u.Height, ScanID: u.Meta.ScanID, AddressID: u.Meta.AddressID, TreeType: u.Meta.TreeType,
		Source: "upload", Origin: db.OriginUpload, RawKey: key, ContentSHA256: hex.EncodeToString(sum[:]),
	}
	uploadGround(&img, u) // raster_upload.go: gsd_m, EXIF and DJI XMP
	if _, err := s.v1.Store.PutImage(r.Context(), img); err != nil {
		_ = s.v1.Blobs.Delete(r.Context(), blob.Raw, key)
		if errors.Is(err, db.ErrInvalid) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		log.Error("record upload", "err", err)
		writeError(w, http.StatusInternalServerError, "recording the image failed")
		return
	}
	log.Info("upload stored", "scan", u.Meta.ScanID, "bytes", len(u.Data), "format", u.Format)
	writeJSON(w, http.StatusAccepted, UploadAccepted{ItemID: id, State: db.StateStored})
}
