package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Store is what the issue-5 endpoints need of the database.
type Store interface {
	Images
	PutImage(ctx context.Context, img db.Image) (bool, error)
	HasImage(ctx context.Context, itemID string) (bool, error)
	GetScan(ctx context.Context, scanID string) (db.Scan, error)
	ListDevices(ctx context.Context) ([]db.Device, error)
	TokenLookup
}

// Saver stores an item: the ingest path that device items take too.
type Saver interface {
	Save(ctx context.Context, it wire.Item, o ingest.SaveOptions) (ingest.Saved, error)
}

// V1Options configure uploads, scans, devices, image objects, auth and the
// dashboard.
type V1Options struct {
	Store          Store
	Blobs          blob.Store
	Saver          Saver // stores uploads; nil: an ingest.Saver over Blobs and Store (serve passes the receivers' saver)
	MaxUploadBytes int64 // 0: 32 MiB
	MaxPixels      int   // 0: 100 megapixels
	AuthOff        bool  // no bearer tokens asked (local demos only)
	URLTTL         time.Duration
	// Scans reads whole scans for their maps and exports (nil: the Store,
	// when it has EachScanImage). See scans.go.
	Scans ScanImages
	// Rasters takes TIFF uploads (GeoTIFF orthophotos) onto disk and reads
	// them through GDAL; see raster_upload.go.
	Rasters RasterUploads
	// Audit is the audit trail that uploads are recorded in and GET
	// /v1/audit reads (nil: the Store, when it has one). See audit.go.
	Audit Audit
}

// EnableV1 registers the issue-5 routes and wraps the handler with bearer
// token authentication (unless o.AuthOff).
func (s *Server) EnableV1(o V1Options) {
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = 32 << 20
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = 100_000_000
	}
	if o.URLTTL <= 0 {
		o.URLTTL = 15 * time.Minute
	}
	if o.Saver == nil {
		// The upload's own limits (MaxUploadBytes, MaxPixels) are checked
		// before it reaches the saver.
		o.Saver = ingest.NewSaver(o.Blobs, o.Store, ingest.ImageLimits{})
	}
	if o.Rasters.Enabled && o.Rasters.MaxBytes <= 0 {
		o.Rasters.MaxBytes = DefaultMaxRasterBytes
	}
	s.v1 = &o
	s.mux.HandleFunc("POST /v1/images", s.upload)
	s.mux.HandleFunc("GET /v1/images/{id}/{kind}", s.imageObject)
	s.mux.HandleFunc("GET /v1/scans/{scan_id}", s.getScan)
	s.mux.HandleFunc("GET /v1/scans/{scan_id}/trees.geojson", s.scanExport("trees.geojson"))
	s.mux.HandleFunc("GET /v1/scans/{scan_id}/trees.csv", s.scanExport("trees.csv"))
	s.mux.HandleFunc("GET /v1/scans/{scan_id}/geo.txt", s.scanExport("geo.txt"))
	s.registrationRoutes() // registration.go: mosaic.jpg, registration
	s.mux.HandleFunc("GET /v1/devices", s.listDevices)
	s.mux.HandleFunc("GET /v1/audit", s.listAudit)
	s.mux.HandleFunc("GET /v1/devices/{id}", s.getDevice) // devices.go
	s.mux.HandleFunc("GET /v1/openapi.json", s.openapi)
	s.enableTime() // time.go: scans by time and place, change, counts by model
	s.mux.Handle("GET /", dashboardHandler())
	if !o.AuthOff {
		s.wrap = newAuth(o.Store, s.log, nil).middleware
	}
}

// Links are where an image's objects can be fetched.
type Links struct {
	Raw       string `json:"raw"`
	Annotated string `json:"annotated,omitempty"`
	Mask      string `json:"mask,omitempty"`
}

// ImageView is the body of GET /v1/images/{id}: the image, its state,
// count, boxes and links.
type ImageView struct {
	db.Image
	Links Links `json:"links"`
}

// imageView adds links to img (presigned URLs when the store gives them,
// else the API's own object routes).
func (s *Server) imageView(ctx context.Context, img db.Image) any {
	if s.v1 == nil {
		return img
	}
	v := ImageView{Image: img}
	link := func(kind, bucket, key string) string {
		if key == "" {
			return ""
		}
		if s.v1.Blobs != nil {
			if u, err := s.v1.Blobs.URL(ctx, bucket, key, s.v1.URLTTL); err == nil && u != "" {
				return u
			}
		}
		return "/v1/images/" + img.ItemID + "/" + kind
	}
	if img.RawDeletedAt.IsZero() {
		v.Links.Raw = link("raw", blob.Raw, img.RawKey)
	}
	if img.Count != nil {
		v.Links.Annotated = link("annotated", blob.Processed, img.Count.AnnotatedKey)
		v.Links.Mask = link("mask", blob.Processed, img.Count.MaskKey)
	} else if img.MaskKey != "" {
		v.Links.Mask = link("mask", blob.Raw, img.MaskKey)
	}
	return v
}

// imageObject: GET /v1/images/{id}/raw|annotated|mask, the object's bytes.
func (s *Server) imageObject(w http.ResponseWriter, r *http.Request) {
	id, kind := r.PathValue("id"), r.PathValue("kind")
	img, err := s.v1.Store.GetImage(r.Context(), id)
	if err != nil {
		s.lookupFailed(w, err, "image", "item", id)
		return
	}
	var bucket, key string
	switch kind {
	case "raw":
		bucket, key = blob.Raw, img.RawKey
	case "annotated":
		if img.Count != nil {
			bucket, key = blob.Processed, img.Count.AnnotatedKey
		}
	case "mask":
		if img.Count != nil && img.Count.MaskKey != "" {
			bucket, key = blob.Processed, img.Count.MaskKey
		} else {
			bucket, key = blob.Raw, img.MaskKey
		}
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no object %q (want raw, annotated or mask)", kind))
		return
	}
	if kind == "raw" && !img.RawDeletedAt.IsZero() {
		writeError(w, http.StatusGone, fmt.Sprintf("the raw image of %q was deleted at %s (serve --retain-raw); its count, boxes, masks and annotated image are kept",
			id, img.RawDeletedAt.UTC().Format(time.RFC3339)))
		return
	}
	if key == "" && kind == "raw" && img.State == db.StateImageEvicted {
		writeError(w, http.StatusNotFound, fmt.Sprintf("image %q was evicted on the device (its outbox was full): only its metadata and mask reached the cloud", id))
		return
	}
	if key == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("image %q has no %s object yet", id, kind))
		return
	}
	data, ct, err := s.v1.Blobs.Get(r.Context(), bucket, key)
	if err != nil {
		s.log.Error("get object", "item", id, "key", key, "err", err)
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s object of %q not readable", kind, id))
		return
	}
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=300")
	_, _ = w.Write(data)
}

// getScan: GET /v1/scans/{scan_id}, its images and total trees.
func (s *Server) getScan(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("scan_id")
	sc, err := s.v1.Store.GetScan(r.Context(), id)
	if err != nil {
		s.lookupFailed(w, err, "scan", "scan", id)
		return
	}
	model := r.URL.Query().Get("model")
	if model != "" && !s.imagesByModel(w, r, &sc, model) { // counts.go
		return
	}
	if sc.Images == nil {
		sc.Images = []db.Image{}
	}
	writeJSON(w, http.StatusOK, s.scanView(r.Context(), sc, model)) // scans.go: trees merged by position
}

func isV1(path string) bool { return path == "/v1" || strings.HasPrefix(path, "/v1/") }
