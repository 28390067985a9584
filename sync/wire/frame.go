package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Frame layout (protocol v1, see docs/protocol.md):
//
//	offset  size  field
//	0       4     magic "CNPY"
//	4       1     version (1)
//	5       4     header length H, unsigned big-endian
//	9       H     header: a JSON object (UTF-8), see Header
//	9+H     rest  body bytes of this chunk
const (
	Magic          = "CNPY"
	Version   byte = 1
	prefixLen      = 9
	// MaxHeaderBytes is the largest header a receiver accepts.
	MaxHeaderBytes = 64 << 10
	// DefaultChunkSize is the default largest frame, the AWS IoT Core limit.
	DefaultChunkSize = 128 << 10
	// MaxChunks is the largest chunk count a receiver accepts.
	MaxChunks = 1 << 16
)

// Header is the JSON header of one chunk frame. Meta and Parts travel in
// chunk 0 only; every other field is in every chunk and must be the same in
// all chunks of an item except Chunk and Offset.
type Header struct {
	ItemID string     `json:"item_id"`
	Device string     `json:"device"`
	Seq    uint64     `json:"seq"`
	Chunk  int        `json:"chunk"`  // index of this chunk, from 0
	Chunks int        `json:"chunks"` // number of chunks of the item, ≥ 1
	Offset int64      `json:"offset"` // where this chunk's body starts in the item body
	Total  int64      `json:"total"`  // size of the whole item body (all parts)
	SHA256 string     `json:"sha256"` // lower-case hex SHA-256 of the whole item body
	Parts  []PartInfo `json:"parts,omitempty"`
	Meta   *Meta      `json:"meta,omitempty"`
}

// PartInfo describes one part in the header of chunk 0. The parts' bytes
// follow each other in this order in the item body.
type PartInfo struct {
	Name        string `json:"name"`
	ContentType string `json:"type"`
	Size        int64  `json:"size"`
}

// appendFrame appends the frame made of h and body to dst.
func appendFrame(dst []byte, h *Header, body []byte) ([]byte, error) {
	dst, err := appendHeader(dst, h)
	if err != nil {
		return nil, err
	}
	return append(dst, body...), nil
}

// appendHeader appends a frame's prefix and header h to dst; its body
// follows.
func appendHeader(dst []byte, h *Header) ([]byte, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode frame header: %w", err)
	}
	if len(hb) > MaxHeaderBytes {
		return nil, fmt.Errorf("encode frame header: %d bytes, more than %d", len(hb), MaxHeaderBytes)
	}
	dst = append(dst, Magic...)
	dst = append(dst, Version)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(hb)))
	return append(dst, hb...), nil
}

func headerLen(h *Header) (int, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return 0, fmt.Errorf("encode frame header: %w", err)
	}
	return len(hb), nil
}

// ParseFrame splits a frame into its header and body. The body aliases
// frame. It checks the framing and the header's own consistency (see
// docs/protocol.md), not the relation to other chunks. Errors are
// *RejectError.
func ParseFrame(frame []byte) (Header, []byte, error) {
	var h Header
	if len(frame) < prefixLen || string(frame[:4]) != Magic {
		return h, nil, reject("", "", ReasonBadMagic, "frame does not start with %q", Magic)
	}
	if frame[4] != Version {
		return h, nil, reject("", "", ReasonBadVersion, "frame version %d, want %d", frame[4], Version)
	}
	n := binary.BigEndian.Uint32(frame[5:9])
	if n > MaxHeaderBytes || int64(n) > int64(len(frame)-prefixLen) {
		return h, nil, reject("", "", ReasonBadHeader, "header length %d does not fit a %d-byte frame (limit %d)", n, len(frame), MaxHeaderBytes)
	}
	hb := frame[prefixLen : prefixLen+int(n)]
	d := json.NewDecoder(bytes.NewReader(hb))
	if err := d.Decode(&h); err != nil {
		return Header{}, nil, reject("", "", ReasonBadHeader, "decode header: %v", err)
	}
	if d.More() {
		return Header{}, nil, reject("", "", ReasonBadHeader, "trailing bytes after header")
	}
	body := frame[prefixLen+int(n):]
	if err := h.check(len(body)); err != nil {
		return h, nil, err
	}
	return h, body, nil
}

// check validates what a header says about itself and its body length.
func (h *Header) check(bodyLen int) error {
	id, dev := h.ItemID, h.Device
	if err := ValidItemID(id); err != nil {
		return reject("", "", ReasonBadHeader, "%v", err)
	}
	if err := ValidDevice(dev); err != nil {
		return reject(id, "", ReasonBadDevice, "%v", err)
	}
	switch {
	case h.Chunks < 1 || h.Chunks > MaxChunks:
		return reject(id, dev, ReasonChunkOutOfRange, "chunk count %d outside 1..%d", h.Chunks, MaxChunks)
	case h.Chunk < 0 || h.Chunk >= h.Chunks:
		return reject(id, dev, ReasonChunkOutOfRange, "chunk index %d outside 0..%d", h.Chunk, h.Chunks-1)
	case len(h.SHA256) != 64 || !isLowerHex(h.SHA256):
		return reject(id, dev, ReasonBadHeader, "sha256 is not 64 lower-case hex digits")
	case h.Total < 0 || h.Offset < 0 || h.Offset > h.Total || int64(bodyLen) > h.Total-h.Offset:
		return reject(id, dev, ReasonSizeMismatch, "chunk of %d bytes at offset %d overflows item of %d bytes", bodyLen, h.Offset, h.Total)
	case bodyLen == 0 && h.Total > 0:
		return reject(id, dev, ReasonSizeMismatch, "empty chunk in a non-empty item")
	case h.Chunks > 1 && int64(h.Chunks) > h.Total:
		return reject(id, dev, ReasonSizeMismatch, "%d chunks for %d bytes", h.Chunks, h.Total)
	}
	if h.Chunk == 0 {
		if h.Meta == nil {
			return reject(id, dev, ReasonBadHeader, "chunk 0 without meta")
		}
		if h.Meta.ItemID != id || h.Meta.Device != dev {
			return reject(id, dev, ReasonHeaderMismatch, "meta names item %q of device %q", h.Meta.ItemID, h.Meta.Device)
		}
		var sum int64
		for _, p := range h.Parts {
			if p.Size < 0 || p.Size > h.Total-sum {
				return reject(id, dev, ReasonSizeMismatch, "part sizes overflow the item's %d bytes", h.Total)
			}
			sum += p.Size
		}
		if sum != h.Total {
			return reject(id, dev, ReasonSizeMismatch, "parts add up to %d bytes, header says %d", sum, h.Total)
		}
	} else if h.Meta != nil || len(h.Parts) > 0 {
		return reject(id, dev, ReasonBadHeader, "meta or parts outside chunk 0")
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
