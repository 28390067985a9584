package encode

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"path/filepath"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/internal/ulid"
	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Content types of the parts.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
)

// SeqFile is the name of the sequence file in the state directory.
const SeqFile = "seq"

// Options configures an Encoder.
type Options struct {
	Device      string
	JPEGQuality int // 1..100
	ScanID      string
	AddressID   string
	TreeType    string
	Segmenter   segment.Info
	// StateDir holds the sequence file.
	StateDir string
	// KernelSynced reports whether the system clock is synchronised (nil:
	// ask the kernel with adjtimex).
	KernelSynced func() bool
	// Ground is what the configuration says of the camera's height and
	// ground sample distance (capture.altitude_m, capture.gsd_m) and of
	// the camera (sensor width, focal length).
	Ground photo.Options
	// Camera names the device's camera (camera.model) in the EXIF written
	// into frames that carry telemetry and have no EXIF of their own.
	Camera string
}

// Encoder builds items.
type Encoder struct {
	o   Options
	seq *Seq
	ids *ulid.Generator
	png png.Encoder
}

// New returns an Encoder whose sequence continues from the state directory.
func New(o Options) (*Encoder, error) {
	if err := wire.ValidDevice(o.Device); err != nil {
		return nil, fmt.Errorf("new encoder: %w", err)
	}
	if o.JPEGQuality < 1 || o.JPEGQuality > 100 {
		return nil, fmt.Errorf("new encoder: jpeg quality %d out of 1..100", o.JPEGQuality)
	}
	if o.StateDir == "" {
		return nil, errors.New("new encoder: no state directory")
	}
	if o.KernelSynced == nil {
		o.KernelSynced = kernelSynced
	}
	seq, err := OpenSeq(filepath.Join(o.StateDir, SeqFile))
	if err != nil {
		return nil, fmt.Errorf("new encoder: %w", err)
	}
	return &Encoder{o: o, seq: seq, ids: ulid.NewGenerator(nil), png: png.Encoder{CompressionLevel: png.BestSpeed}}, nil
}

// Encode makes the item of frame f with its segmentation r. The image part
// is the photo's own JPEG when the source delivered one (f.Encoded), else
// f.Image encoded at the configured quality; the item's width and height
// are the frame's size at the source. The mask keeps the size the
// segmenter worked at (f.Image's), which may be smaller.
func (e *Encoder) Encode(f capture.Frame, r segment.Result) (wire.Item, error) {
	if (f.Image == nil && f.Encoded == nil) || r.Mask == nil {
		return wire.Item{}, errors.New("encode: frame or mask missing")
	}
	// A JPEG photo goes as it is (Frame.Encoded): no second encoding, its
	// EXIF kept, and Image may be a reduced decode of it.
	img := f.Encoded
	if img == nil {
		var err error
		if img, err = encodeJPEG(f.Image, e.o.JPEGQuality); err != nil {
			return wire.Item{}, fmt.Errorf("encode jpeg: %w", err)
		}
		if f.Photo != nil && f.Telemetry == nil {
			img = withSegments(img, f.Photo.Segments) // the photo's EXIF (GPS) and XMP travel with it
		}
	}
	img = geotag(img, f, e.camera(f))
	var mask bytes.Buffer
	if err := e.png.Encode(&mask, r.Mask); err != nil {
		return wire.Item{}, fmt.Errorf("encode mask png: %w", err)
	}
	id, err := e.ids.New(f.Time)
	if err != nil {
		return wire.Item{}, fmt.Errorf("encode: item id: %w", err)
	}
	seq, err := e.seq.Next()
	if err != nil {
		return wire.Item{}, fmt.Errorf("encode: %w", err)
	}
	size := f.Size()
	meta := wire.Meta{
		ItemID:      id,
		Device:      e.o.Device,
		Seq:         seq,
		CapturedAt:  f.Time.UTC(),
		ClockSynced: ClockSynced(f.Time, f.Clock, e.o.KernelSynced),
		GPS:         f.GPS,
		Width:       size.X,
		Height:      size.Y,
		ForestShare: r.Share,
		Segmenter:   e.o.Segmenter.Name,
		Model:       e.o.Segmenter.Model,
		ModelSHA256: e.o.Segmenter.ModelSHA256,
		ScanID:      e.o.ScanID,
		AddressID:   e.o.AddressID,
		TreeType:    e.o.TreeType,
		Source:      f.Name,
	}
	setGround(&meta, f, e.o.Ground)
	return wire.Item{Meta: meta, Parts: []wire.Part{
		{Name: wire.PartImage, ContentType: TypeJPEG, Data: img},
		{Name: wire.PartMask, ContentType: TypePNG, Data: mask.Bytes()},
	}}, nil
}

// camera is what the EXIF says of the camera of frame f: the photo's own
// make, model and focal length, else the configured camera.
func (e *Encoder) camera(f capture.Frame) camera {
	c := camera{make: "Canopy", model: e.o.Camera, focalMM: e.o.Ground.FocalMM, sensorWidthMM: e.o.Ground.SensorWidthMM}
	if c.model == "" {
		c.model = "camera"
	}
	if p := f.Photo; p != nil {
		if p.Make != "" || p.Model != "" {
			c.make, c.model = p.Make, p.Model
		}
		if p.FocalMM > 0 {
			c.focalMM = p.FocalMM
		}
	}
	return c
}

// Close records the last sequence number. It is idempotent.
func (e *Encoder) Close() error { return e.seq.Close() }
