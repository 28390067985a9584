package fleet

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
)

// itemMaker makes items of about a given size: a noise JPEG (which does
// not compress, so it takes several chunks) made unique by a comment
// segment with the item id, and a small PNG mask.
type itemMaker struct {
	jpg           []byte
	mask          []byte
	width, height int
}

func newItemMaker(size int) (*itemMaker, error) {
	// Quality 90 noise costs about 1.6 bytes a pixel in 4:2:0 JPEG.
	side := 64
	for side*side*16/10 < size {
		side += 16
	}
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	m := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range m.Pix {
		m.Pix[i] = byte(i%3) * 127
	}
	var mb bytes.Buffer
	if err := png.Encode(&mb, m); err != nil {
		return nil, err
	}
	return &itemMaker{jpg: b.Bytes(), mask: mb.Bytes(), width: side, height: side}, nil
}

// item makes the item id of device's seq-th item.
func (m *itemMaker) item(id, device, scan string, seq uint64, at time.Time) wire.Item {
	// SOI, then a COM segment naming the item, then the rest of the JPEG.
	com := []byte("canopy fleet item " + id)
	jpg := make([]byte, 0, len(m.jpg)+len(com)+4)
	jpg = append(jpg, m.jpg[:2]...)
	jpg = append(jpg, 0xFF, 0xFE)
	jpg = binary.BigEndian.AppendUint16(jpg, uint16(len(com)+2))
	jpg = append(jpg, com...)
	jpg = append(jpg, m.jpg[2:]...)
	return wire.Item{
		Meta: wire.Meta{
			ItemID: id, Device: device, Seq: seq, CapturedAt: at.UTC(), ClockSynced: true,
			Width: m.width, Height: m.height, ForestShare: 0.5, Segmenter: "fleet", ScanID: scan,
			Source: "fleet",
		},
		Parts: []wire.Part{
			{Name: wire.PartImage, ContentType: "image/jpeg", Data: jpg},
			{Name: wire.PartMask, ContentType: "image/png", Data: m.mask},
		},
	}
}
