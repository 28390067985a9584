package capture

import (
	"bytes"
	"fmt"
	"image"

	"github.com/canopy-forest/canopy/internal/libjpeg"
	"github.com/canopy-forest/canopy/internal/rgba"
)

// decoder decodes the photos of a folder source into pooled frame
// buffers: a JPEG with libjpeg-turbo (in builds with the opencv tag), at a
// reduced scale when the photo is much larger than size; anything else
// (and a JPEG libjpeg-turbo refuses, such as CMYK) with the standard
// library's decoders. The zero decoder decodes at full size into new
// buffers.
type decoder struct {
	// size is the least size a reduced decode must keep, in either
	// orientation (zero: always full size).
	size image.Point
	pool *rgba.Pool
}

// decoded is one decoded photo.
type decoded struct {
	img  *image.RGBA
	src  image.Point // the photo's own size (img is smaller after a reduced decode)
	jpeg bool        // the file is a JPEG (its bytes can go into the item as they are)
}

func (d *decoder) alloc(w, h int) *image.RGBA {
	if d.pool == nil {
		return image.NewRGBA(image.Rect(0, 0, w, h))
	}
	return d.pool.Get(w, h)
}

// decode decodes b. Images over MaxPixels are refused before their pixels
// are decoded; a decoder panic is returned as an error.
func (d *decoder) decode(b []byte) (out decoded, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = decoded{}, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	isJPEG := bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff})
	if isJPEG && libjpeg.Supported {
		if src, _, err := libjpeg.Size(b, 1); err == nil && inRange(src) {
			denom := scaleFor(src, d.size)
			if img, err := libjpeg.Decode(b, denom, d.alloc); err == nil {
				return decoded{img: img, src: src, jpeg: true}, nil
			}
		}
		// Not one libjpeg-turbo decodes to RGBA (CMYK, say), or broken: the
		// standard library decides.
	}
	img, err := decodeGo(b, d.alloc)
	if err != nil {
		return decoded{}, err
	}
	return decoded{img: img, src: img.Rect.Size(), jpeg: isJPEG}, nil
}

func inRange(sz image.Point) bool {
	return sz.X > 0 && sz.Y > 0 && int64(sz.X)*int64(sz.Y) <= MaxPixels
}

// scaleFor returns the largest JPEG scaling denominator (8, 4, 2 or 1)
// that keeps a src-sized photo at least need in both dimensions, short
// side against short side; 1 when need is zero.
func scaleFor(src, need image.Point) int {
	if need.X <= 0 || need.Y <= 0 {
		return 1
	}
	sLong, sShort := max(src.X, src.Y), min(src.X, src.Y)
	nLong, nShort := max(need.X, need.Y), min(need.X, need.Y)
	for _, denom := range libjpeg.Scales {
		w, h := libjpeg.ScaledSize(sLong, sShort, denom)
		if w >= nLong && h >= nShort {
			return denom
		}
	}
	return 1
}

// decodeGo decodes b with the standard library's decoders (JPEG, PNG,
// TIFF) into a buffer from alloc.
func decodeGo(b []byte, alloc func(w, h int) *image.RGBA) (*image.RGBA, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if !inRange(image.Pt(cfg.Width, cfg.Height)) {
		return nil, fmt.Errorf("image size %dx%d out of range", cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if r, ok := src.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r, nil
	}
	sz := src.Bounds().Size()
	return rgba.Into(alloc(sz.X, sz.Y), src), nil
}
