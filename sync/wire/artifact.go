package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Artifacts travel to a device the other way from items: the device asks
// for the chunks it lacks on its fetch topic (FetchRequest), and the cloud
// answers with one artifact chunk frame per chunk on its artifact topic.
// Since the device asks, a download resumes after a reboot or a lost link
// with the chunks it does not have, and nothing is sent that it did not
// ask for.

// ArtifactMagic starts an artifact chunk frame.
const ArtifactMagic = "CNPA"

// MaxFetchChunks is the most chunks one FetchRequest may ask for.
const MaxFetchChunks = 16

// ErrBadArtifactChunk: a message on the artifact topic that is not a valid
// artifact chunk frame.
var ErrBadArtifactChunk = errors.New("bad artifact chunk")

// FetchRequest asks the cloud for chunks of an artifact that the device's
// desired document names.
type FetchRequest struct {
	SHA256 string `json:"sha256"`
	Chunks []int  `json:"chunks"` // chunk indexes, 1 to MaxFetchChunks of them
}

// EncodeFetch encodes r as JSON.
func EncodeFetch(r FetchRequest) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("encode fetch request: %w", err)
	}
	return json.Marshal(r)
}

// DecodeFetch decodes and checks a fetch request.
func DecodeFetch(b []byte) (FetchRequest, error) {
	var r FetchRequest
	if len(b) > 4096 {
		return r, fmt.Errorf("decode fetch request: %d bytes", len(b))
	}
	if err := decodeJSON(b, &r); err != nil {
		return FetchRequest{}, fmt.Errorf("decode fetch request: %w", err)
	}
	if err := r.validate(); err != nil {
		return FetchRequest{}, fmt.Errorf("decode fetch request: %w", err)
	}
	return r, nil
}

func (r *FetchRequest) validate() error {
	if !isHex64(r.SHA256) {
		return errors.New("sha256 is not 64 lower-case hex digits")
	}
	if len(r.Chunks) < 1 || len(r.Chunks) > MaxFetchChunks {
		return fmt.Errorf("%d chunks asked for: want 1 to %d", len(r.Chunks), MaxFetchChunks)
	}
	for _, c := range r.Chunks {
		if c < 0 || c >= MaxChunks {
			return fmt.Errorf("chunk %d outside 0..%d", c, MaxChunks-1)
		}
	}
	return nil
}

// ArtifactChunk is one chunk of an artifact. In a frame its header is
// {"sha256":..., "chunk":..., "offset":..., "size":...}, size being the
// whole artifact's.
type ArtifactChunk struct {
	SHA256 string `json:"sha256"`
	Chunk  int    `json:"chunk"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Data   []byte `json:"-"`
}

// AppendArtifactChunk appends c as a frame to dst: the magic "CNPA", the
// version byte, the header length (uint32, big-endian), the JSON header
// and the chunk's bytes.
func AppendArtifactChunk(dst []byte, c ArtifactChunk) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("encode artifact chunk: %w", err)
	}
	hb, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode artifact chunk: %w", err)
	}
	dst = append(dst, ArtifactMagic...)
	dst = append(dst, Version)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(hb)))
	dst = append(dst, hb...)
	return append(dst, c.Data...), nil
}

// ParseArtifactChunk reads an artifact chunk frame; Data aliases frame.
// Errors wrap ErrBadArtifactChunk.
func ParseArtifactChunk(frame []byte) (ArtifactChunk, error) {
	var c ArtifactChunk
	if len(frame) < prefixLen || string(frame[:4]) != ArtifactMagic || frame[4] != Version {
		return c, fmt.Errorf("%w: no %q v%d prefix", ErrBadArtifactChunk, ArtifactMagic, Version)
	}
	n := binary.BigEndian.Uint32(frame[5:9])
	if n > 4096 || int64(n) > int64(len(frame)-prefixLen) {
		return c, fmt.Errorf("%w: header length %d in a %d-byte frame", ErrBadArtifactChunk, n, len(frame))
	}
	d := json.NewDecoder(bytes.NewReader(frame[prefixLen : prefixLen+int(n)]))
	if err := d.Decode(&c); err != nil || d.More() {
		return ArtifactChunk{}, fmt.Errorf("%w: header is not one JSON object", ErrBadArtifactChunk)
	}
	c.Data = frame[prefixLen+int(n):]
	if err := c.check(); err != nil {
		return ArtifactChunk{}, fmt.Errorf("%w: %v", ErrBadArtifactChunk, err)
	}
	return c, nil
}

func (c *ArtifactChunk) check() error {
	switch {
	case !isHex64(c.SHA256):
		return errors.New("sha256 is not 64 lower-case hex digits")
	case c.Chunk < 0 || c.Chunk >= MaxChunks:
		return fmt.Errorf("chunk %d outside 0..%d", c.Chunk, MaxChunks-1)
	case c.Size < 1 || c.Size > MaxArtifactBytes:
		return fmt.Errorf("size %d outside 1..%d", c.Size, MaxArtifactBytes)
	case len(c.Data) == 0 || c.Offset < 0 || c.Offset > c.Size-int64(len(c.Data)):
		return fmt.Errorf("%d bytes at offset %d overflow an artifact of %d", len(c.Data), c.Offset, c.Size)
	}
	return nil
}
