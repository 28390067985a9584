package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of device images
	_ "image/png"  // DecodeConfig of masks and compat images
	"log/slog"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
	_ "golang.org/x/image/tiff" // DecodeConfig of uploaded TIFF images
)

// Blobs is what the Saver needs of a blob store.
type Blobs interface {
	Put(ctx context.Context, bucket, key string, data []byte, contentType string) error
}

// Images is what the Saver needs of the database.
type Images interface {
	PutImage(ctx context.Context, img db.Image) (created bool, err error)
	HasImage(ctx context.Context, itemID string) (bool, error)
}

// Origins of items, as recorded in the images table.
const (
	OriginDevice = "device"
	OriginUpload = "upload"
	OriginCompat = "compat"
)

// Object names under an item's prefix in the raw bucket. The image is
// "image.jpg" (or "image.png", "image.tif" for such uploads).
const (
	ObjectImage = "image.jpg"
	ObjectMask  = "mask.png"
	ObjectMeta  = "meta.json"
)

// imageObject is the image's object name for a decoded format.
func imageObject(format string) string {
	switch format {
	case "png":
		return "image.png"
	case "tiff":
		return "image.tif"
	}
	return ObjectImage
}

// ImageLimits bound what the Saver accepts.
type ImageLimits struct {
	MaxBytes  int // largest image or mask in bytes; 0 means 64 MiB
	MaxPixels int // largest width*height of the image or mask; 0 means 100 megapixels
}

func (l ImageLimits) withDefaults() ImageLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 64 << 20
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = 100_000_000
	}
	return l
}

// Saver checks items and stores them: objects first, then the row.
type Saver struct {
	blobs  Blobs
	images Images
	lim    ImageLimits
	now    func() time.Time
}

// NewSaver returns a Saver that stores into blobs and images.
func NewSaver(blobs Blobs, images Images, lim ImageLimits) *Saver {
	return &Saver{blobs: blobs, images: images, lim: lim.withDefaults(), now: time.Now}
}

// Saved describes a stored item.
type Saved struct {
	Image     db.Image // the row as written
	Duplicate bool     // the item was stored before
}

// SaveOptions say where an item comes from and where its objects go.
type SaveOptions struct {
	Origin string // OriginDevice, OriginUpload or OriginCompat; "" = device
	// KeyPrefix, when set, replaces the "<device>/<yyyy>/<mm>/<dd>/<item>"
	// prefix of blob.Key: inputs whose items have no trustworthy capture
	// time key their objects by content ("compat/<sha256>").
	KeyPrefix string
	// ImageFile, when set, is the item's image as a file on disk (an
	// orthophoto larger than memory, already checked by the caller): it is
	// streamed to the blob store, and the item's image part is left empty.
	ImageFile *ImageFile
}

// ImageFile is an image on disk and what its caller checked of it.
type ImageFile struct {
	Path          string
	Format        string // "tiff", "jpeg", "png"
	SHA256        string // of the file, lower-case hex
	Width, Height int
}

// Save checks it and stores it: its objects (image, device mask, meta.json)
// in the raw bucket, then its row, which queues its count job. An item
// whose image the device's outbox evicted (Meta.ImageEvicted, no image
// bytes) is stored without an image, in state db.StateImageEvicted, and is
// not counted. A *RejectError means the item is invalid and nothing was
// stored; any other error is transient (try again: every step is
// idempotent by item id). Uploads, compat messages and device items all
// come through here.
func (s *Saver) Save(ctx context.Context, it wire.Item, o SaveOptions) (Saved, error) {
	img, objs, err := s.check(it, o)
	if err != nil {
		return Saved{}, err
	}
	if img.State == db.StateImageEvicted {
		// The same item may have been stored whole before its image was
		// evicted on the device (an ack lost on the way): keep that
		// item's meta.json as it is.
		had, err := s.images.HasImage(ctx, img.ItemID)
		if err != nil {
			return Saved{}, fmt.Errorf("look up item %s: %w", img.ItemID, err)
		}
		if had {
			return Saved{Image: img, Duplicate: true}, nil
		}
	}
	for _, o := range objs {
		if err := s.put(ctx, o); err != nil {
			return Saved{}, fmt.Errorf("store %s: %w", o.key, err)
		}
	}
	created, err := s.images.PutImage(ctx, img)
	if errors.Is(err, db.ErrInvalid) { // check() should have caught it: never retry it
		return Saved{}, reject(ReasonBadMeta, err.Error())
	}
	if err != nil {
		return Saved{}, fmt.Errorf("record item %s: %w", img.ItemID, err)
	}
	return Saved{Image: img, Duplicate: !created}, nil
}

type object struct {
	key, contentType string
	data             []byte
	path             string // instead of data: a file to stream
}

// put writes one object, streaming a file when the store can.
func (s *Saver) put(ctx context.Context, o object) error {
	if o.path == "" {
		return s.blobs.Put(ctx, blob.Raw, o.key, o.data, o.contentType)
	}
	return blob.PutFile(ctx, s.blobs, blob.Raw, o.key, o.path, o.contentType)
}

// check validates the item and builds its row and objects.
func (s *Saver) check(it wire.Item, o SaveOptions) (db.Image, []object, error) {
	m := it.Meta
	if err := wire.ValidItemID(m.ItemID); err != nil {
		return db.Image{}, nil, reject(ReasonBadMeta, err.Error())
	}
	origin := o.Origin
	if origin == "" {
		origin = OriginDevice
	}
	key := func(name string) string {
		if o.KeyPrefix != "" {
			return o.KeyPrefix + "/" + name
		}
		return blob.Key(m.Device, m.CapturedAt, m.ItemID, name)
	}
	if m.Device == "" && origin == OriginUpload {
		// An upload that names no device: keyed under "upload/".
		key = func(name string) string { return blob.Key(OriginUpload, m.CapturedAt, m.ItemID, name) }
	} else if err := wire.ValidDevice(m.Device); err != nil {
		return db.Image{}, nil, reject(ReasonBadMeta, err.Error())
	}
	if m.CapturedAt.IsZero() {
		return db.Image{}, nil, reject(ReasonBadMeta, "no capture time")
	}
	var imgData, maskData []byte
	var imgType, maskType string
	for _, p := range it.Parts {
		switch p.Name {
		case wire.PartImage:
			imgData, imgType = p.Data, p.ContentType
		case wire.PartMask:
			maskData, maskType = p.Data, p.ContentType
		}
	}
	file := o.ImageFile
	evicted := m.ImageEvicted && len(imgData) == 0 && file == nil
	if len(imgData) == 0 && !evicted && file == nil {
		return db.Image{}, nil, reject(ReasonBadImage, "no image part (and the item does not say that its image was evicted)")
	}
	w, h, format := m.Width, m.Height, ""
	if file != nil {
		w, h, format = file.Width, file.Height, file.Format
		if w <= 0 || h <= 0 {
			return db.Image{}, nil, reject(ReasonBadImage, fmt.Sprintf("%dx%d pixels", w, h))
		}
	} else if !evicted {
		var err error
		if w, h, format, err = s.decodeConfig(imgData, imgType, "jpeg"); err != nil {
			return db.Image{}, nil, err
		}
	}
	if len(maskData) > 0 {
		if _, _, _, err := s.decodeConfig(maskData, maskType, "png"); err != nil {
			return db.Image{}, nil, err
		}
	}
	at := m.CapturedAt.UTC()
	img := db.Image{
		ItemID:      m.ItemID,
		Device:      m.Device,
		Seq:         m.Seq,
		CapturedAt:  at,
		ClockSynced: m.ClockSynced,
		Width:       w,
		Height:      h,
		ForestShare: m.ForestShare,
		Segmenter:   m.Segmenter,
		Model:       m.Model,
		ModelSHA256: m.ModelSHA256,
		ScanID:      m.ScanID,
		AddressID:   m.AddressID,
		TreeType:    m.TreeType,
		Source:      m.Source,
		Origin:      origin,
		State:       db.StateStored,
		ReceivedAt:  s.now().UTC(),
		Ground:      groundOf(m), // geo.go
	}
	var objs []object
	switch {
	case evicted:
		img.State = db.StateImageEvicted
	case file != nil:
		img.RawKey, img.ContentSHA256 = key(imageObject(format)), file.SHA256
		objs = append(objs, object{key: img.RawKey, contentType: "image/" + format, path: file.Path})
	default:
		sum := sha256.Sum256(imgData)
		img.RawKey, img.ContentSHA256 = key(imageObject(format)), hex.EncodeToString(sum[:])
		objs = append(objs, object{key: img.RawKey, contentType: "image/" + format, data: imgData})
	}
	if m.GPS != nil {
		lat, lon := m.GPS.Lat, m.GPS.Lon
		img.Lat, img.Lon = &lat, &lon
	}
	if len(maskData) > 0 {
		img.MaskKey = key(ObjectMask)
		objs = append(objs, object{key: img.MaskKey, contentType: "image/png", data: maskData})
	}
	// A row the database would refuse (a forest share of NaN, a latitude
	// of 200) is refused now, before any object is written: sent again it
	// would fail again, so it is a rejection, not a transient failure.
	if err := db.ValidateImage(img); err != nil {
		return db.Image{}, nil, reject(ReasonBadMeta, err.Error())
	}
	meta, err := encodeMeta(img)
	if err != nil {
		return db.Image{}, nil, fmt.Errorf("encode meta of %s: %w", m.ItemID, err)
	}
	objs = append(objs, object{key: key(ObjectMeta), contentType: "application/json", data: meta})
	return img, objs, nil
}

// decodeConfig reads the image header only (never the pixels) and applies
// the limits. want is the format expected when contentType says nothing.
func (s *Saver) decodeConfig(data []byte, contentType, want string) (w, h int, format string, err error) {
	if len(data) > s.lim.MaxBytes {
		return 0, 0, "", reject(ReasonTooLarge, fmt.Sprintf("%d bytes, limit %d", len(data), s.lim.MaxBytes))
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, "", reject(ReasonBadImage, fmt.Sprintf("%s: %v", contentTypeOr(contentType, want), err))
	}
	if ct := formatOf(contentType); ct != "" && ct != format {
		return 0, 0, "", reject(ReasonBadImage, fmt.Sprintf("content type %s but the data is %s", contentType, format))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, "", reject(ReasonBadImage, fmt.Sprintf("%dx%d pixels", cfg.Width, cfg.Height))
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > int64(s.lim.MaxPixels) {
		return 0, 0, "", reject(ReasonTooLarge, fmt.Sprintf("%dx%d pixels, limit %d", cfg.Width, cfg.Height, s.lim.MaxPixels))
	}
	return cfg.Width, cfg.Height, format, nil
}

// formatOf maps a content type to an image/DecodeConfig format name; "" for
// an empty or generic type.
func formatOf(contentType string) string {
	ct, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	switch ct {
	case "", "application/octet-stream":
		return ""
	case "image/jpeg", "image/jpg", "image/pjpeg":
		return "jpeg"
	case "image/tiff", "image/tif":
		return "tiff"
	}
	return strings.TrimPrefix(ct, "image/")
}

func contentTypeOr(ct, format string) string {
	if ct != "" {
		return ct
	}
	return "image/" + format
}

// logItem returns log with the item's id and device.
func logItem(log *slog.Logger, id, device string) *slog.Logger {
	return log.With("item", id, "device", device)
}
