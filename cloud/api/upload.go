package api

import (
	"bytes"
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

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/internal/ulid"
	"github.com/canopy-forest/canopy/sync/wire"
)

// UploadMeta is the "metadata" part of POST /v1/images.
type UploadMeta struct {
	// ItemID, when given, makes the upload idempotent: sending it again
	// stores nothing new (1 to 64 of [A-Za-z0-9._-]). Without it, the
	// cloud makes a ULID.
	ItemID     string     `json:"item_id,omitempty"`
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
		return u, nil // a TIFF on disk: GDAL checks it (rasterFile)
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
	if m.ItemID != "" {
		if err := wire.ValidItemID(m.ItemID); err != nil {
			errs = append(errs, fmt.Errorf("item_id: %w", err))
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
	ItemID    string `json:"item_id"`
	State     string `json:"state"`
	Duplicate bool   `json:"duplicate,omitempty"` // an upload with this item_id was stored before
}

// uploadIDs makes the item ids of uploads that bring none: ULIDs, the
// scheme of device items.
var uploadIDs = ulid.NewGenerator(nil)

// upload: POST /v1/images. The upload becomes an item and is stored by the
// ingest Saver, exactly as a device item is (same keys, meta.json, limits,
// idempotency by item id), then queued for counting. Its device is checked
// against the token's bound device first (uploadDevice).
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
	if t, ok := tokenFrom(r.Context()); ok {
		dev, err := uploadDevice(t, u.Meta.Device)
		if err != nil {
			s.log.Warn("upload refused", "reason", "device", "token", t.ID(), "name", t.Name,
				"device", u.Meta.Device, "bound_device", t.Device, "remote", r.RemoteAddr)
			writeError(w, http.StatusForbidden, err.Error())
			return
		}
		u.Meta.Device = dev
	}
	if u.File != "" {
		defer os.Remove(u.File) // a TIFF orthophoto spooled to disk (raster_upload.go)
	}
	it, err := u.Item(time.Now())
	if err != nil {
		s.log.Error("make upload id", "err", err)
		writeError(w, http.StatusInternalServerError, "making an item id failed")
		return
	}
	id := it.Meta.ItemID
	log := s.log.With("item", id)
	opts := ingest.SaveOptions{Origin: ingest.OriginUpload}
	if u.File != "" {
		f, status, msg := rasterFile(r.Context(), &it.Meta, u) // GDAL reads its header
		if msg != "" {
			log.Warn("raster upload refused", "reason", msg)
			writeError(w, status, msg)
			return
		}
		opts.ImageFile = f
	} else {
		uploadGround(&it.Meta, u) // gsd_m, EXIF and DJI XMP
	}
	saved, err := s.v1.Saver.Save(r.Context(), it, opts)
	if rej, ok := ingest.IsReject(err); ok {
		status := http.StatusUnprocessableEntity
		switch rej.Reason {
		case ingest.ReasonTooLarge:
			status = http.StatusRequestEntityTooLarge
		case ingest.ReasonBadMeta:
			status = http.StatusBadRequest
		}
		log.Warn("upload rejected", "reason", rej.Reason, "detail", rej.Detail)
		writeError(w, status, rej.Error())
		return
	}
	if err != nil {
		log.Error("store upload", "err", err)
		writeError(w, http.StatusInternalServerError, "storing the upload failed")
		return
	}
	log.Info("upload stored", "scan", u.Meta.ScanID, "bytes", len(u.Data), "format", u.Format, "duplicate", saved.Duplicate)
	if !saved.Duplicate {
		s.audit(r, db.AuditUpload, id, fmt.Sprintf("scan %q, device %q, %s, %d bytes", u.Meta.ScanID, u.Meta.Device, u.Format, len(u.Data)))
	}
	writeJSON(w, http.StatusAccepted, UploadAccepted{ItemID: id, State: saved.Image.State, Duplicate: saved.Duplicate})
}

// Item is the upload as an item: its own item id or a new ULID, the
// capture time it names (or now), and the image as the item's only part.
func (u Upload) Item(now time.Time) (wire.Item, error) {
	at := now.UTC()
	if u.Meta.CapturedAt != nil {
		at = u.Meta.CapturedAt.UTC()
	}
	id := u.Meta.ItemID
	if id == "" {
		var err error
		if id, err = uploadIDs.New(at); err != nil {
			return wire.Item{}, err
		}
	}
	m := wire.Meta{
		ItemID: id, Device: u.Meta.Device, CapturedAt: at, Width: u.Width, Height: u.Height,
		ScanID: u.Meta.ScanID, AddressID: u.Meta.AddressID, TreeType: u.Meta.TreeType, Source: "upload",
	}
	if u.Meta.Lat != nil {
		m.GPS = &wire.GPS{Lat: *u.Meta.Lat, Lon: *u.Meta.Lon}
	}
	return wire.Item{Meta: m, Parts: []wire.Part{{Name: wire.PartImage, ContentType: "image/" + u.Format, Data: u.Data}}}, nil
}
