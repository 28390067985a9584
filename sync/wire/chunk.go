package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Chunk splits it into frames of at most maxFrame bytes each, header
// included (0 means DefaultChunkSize). Chunk 0 carries the item's metadata
// and the list of parts; every frame carries a share of the body. It fails
// when the item is not valid (see Item.Validate) or when maxFrame is too
// small for the headers.
func Chunk(it Item, maxFrame int) ([][]byte, error) {
	return chunk(it, "", maxFrame)
}

// ChunkDigest is Chunk for an item whose body's SHA-256 (lower-case hex,
// as UnmarshalDigest returns it) the caller already has, so that it is not
// computed again. The digest is trusted: a wrong one makes frames that the
// receiver rejects.
func ChunkDigest(it Item, sha256Hex string, maxFrame int) ([][]byte, error) {
	if sha256Hex == "" {
		return nil, fmt.Errorf("chunk item %s: empty digest", it.Meta.ItemID)
	}
	return chunk(it, sha256Hex, maxFrame)
}

// chunk is Chunk with the body's digest when known ("": compute it): the
// frames of AppendChunks, each a slice of one buffer.
func chunk(it Item, sum string, maxFrame int) ([][]byte, error) {
	b, lens, err := AppendChunks(nil, it, sum, maxFrame)
	if err != nil {
		return nil, err
	}
	frames := make([][]byte, len(lens))
	off := 0
	for i, n := range lens {
		frames[i] = b[off : off+n : off+n]
		off += n
	}
	return frames, nil
}

// AppendChunks appends the frames Chunk makes of it to dst, one after the
// other, and returns the extended buffer and each frame's length. sum is
// the body's SHA-256 (lower-case hex) when the caller has it, "" to compute
// it (trusted, as with ChunkDigest). It reads the parts as they are: no
// copy of the body is made but the frames'. A store that keeps items as
// frames (the device's outbox) writes them straight into its record.
func AppendChunks(dst []byte, it Item, sum string, maxFrame int) ([]byte, []int, error) {
	if maxFrame == 0 {
		maxFrame = DefaultChunkSize
	}
	if err := it.Validate(); err != nil {
		return nil, nil, fmt.Errorf("chunk item: %w", err)
	}
	if sum == "" {
		sum = BodyDigest(it)
	}
	total := int64(it.Size())
	base := baseHeader(&it, total, sum)

	// capacities returns how many body bytes chunk 0 and any other chunk
	// can carry when the item has count chunks. JSON numbers only grow
	// with their value, so the widest header of a chunk after the first is
	// the one with the largest index and offset.
	capacities := func(count int) (int64, int64, error) {
		h0 := base
		h0.Chunks = count
		n0, err := headerLen(&h0)
		if err != nil {
			return 0, 0, err
		}
		hn := base
		hn.Meta, hn.Parts = nil, nil
		hn.Chunks, hn.Chunk, hn.Offset = count, count-1, total
		nn, err := headerLen(&hn)
		if err != nil {
			return 0, 0, err
		}
		c0, cn := int64(maxFrame-prefixLen-n0), int64(maxFrame-prefixLen-nn)
		if c0 < 1 || (count > 1 && cn < 1) {
			return 0, 0, fmt.Errorf("chunk item %s: frames of %d bytes leave no room for the body after a %d-byte header", it.Meta.ItemID, maxFrame, max(n0, nn)+prefixLen)
		}
		return c0, cn, nil
	}
	need := func(c0, cn int64) int {
		if total <= c0 {
			return 1
		}
		return 1 + int((total-c0+cn-1)/cn)
	}
	count := 1
	var c0, cn int64
	for {
		var err error
		if c0, cn, err = capacities(count); err != nil {
			return nil, nil, err
		}
		if count == 1 && total > c0 {
			// Two or more chunks: capacity of the others matters.
			if c0, cn, err = capacities(2); err != nil {
				return nil, nil, err
			}
		}
		n := need(c0, cn)
		if n > MaxChunks {
			return nil, nil, fmt.Errorf("chunk item %s: %d chunks of %d bytes, more than %d", it.Meta.ItemID, n, maxFrame, MaxChunks)
		}
		if n <= count {
			count = n
			break
		}
		count = n
	}
	if dst == nil {
		dst = make([]byte, 0, int(total)+count*(maxFrame-int(min(c0, cn))))
	}
	lens := make([]int, 0, count)
	body := newPartReader(it.Parts)
	var off int64
	for i := 0; i < count; i++ {
		h := base
		if i > 0 {
			h.Meta, h.Parts = nil, nil
		}
		h.Chunk, h.Chunks, h.Offset = i, count, off
		n := cn
		if i == 0 {
			n = c0
		}
		n = min(n, total-off)
		start := len(dst)
		var err error
		if dst, err = appendHeader(dst, &h); err != nil {
			return nil, nil, err
		}
		dst = body.append(dst, n)
		if len(dst)-start > maxFrame {
			return nil, nil, fmt.Errorf("chunk item %s: frame %d is %d bytes, more than %d (bug)", it.Meta.ItemID, i, len(dst)-start, maxFrame)
		}
		lens = append(lens, len(dst)-start)
		off += n
	}
	if off != total {
		return nil, nil, fmt.Errorf("chunk item %s: split %d of %d bytes (bug)", it.Meta.ItemID, off, total)
	}
	return dst, lens, nil
}

// partReader reads the parts' bytes one after the other, as the body.
type partReader struct {
	parts []Part
	i, at int // part i, byte at of it
}

func newPartReader(parts []Part) *partReader { return &partReader{parts: parts} }

// append appends the next n bytes of the body to dst.
func (r *partReader) append(dst []byte, n int64) []byte {
	for n > 0 {
		p := r.parts[r.i].Data[r.at:]
		k := int(min(int64(len(p)), n))
		dst = append(dst, p[:k]...)
		n -= int64(k)
		if r.at += k; r.at == len(r.parts[r.i].Data) {
			r.i, r.at = r.i+1, 0
		}
	}
	return dst
}

// Marshal encodes the whole item as one blob: a single-chunk frame of any
// size (the form in which the outbox of earlier releases stored items).
func Marshal(it Item) ([]byte, error) {
	if err := it.Validate(); err != nil {
		return nil, fmt.Errorf("marshal item: %w", err)
	}
	body := it.body()
	h := baseHeader(&it, int64(len(body)), digest(body))
	h.Chunks = 1
	b, err := appendFrame(make([]byte, 0, len(body)+1024), &h, body)
	if err != nil {
		return nil, fmt.Errorf("marshal item %s: %w", it.Meta.ItemID, err)
	}
	return b, nil
}

// Unmarshal decodes a blob written by Marshal and checks its digest. The
// item's data does not alias b.
func Unmarshal(b []byte) (Item, error) {
	it, _, err := UnmarshalDigest(b)
	return it, err
}

// UnmarshalDigest is Unmarshal that also returns the body's SHA-256
// (lower-case hex) it checked, for ChunkDigest.
func UnmarshalDigest(b []byte) (Item, string, error) {
	h, body, err := ParseFrame(b)
	if err != nil {
		return Item{}, "", fmt.Errorf("unmarshal item: %w", err)
	}
	if h.Chunks != 1 || int64(len(body)) != h.Total {
		return Item{}, "", fmt.Errorf("unmarshal item: %w", reject(h.ItemID, h.Device, ReasonSizeMismatch, "blob is chunk %d of %d with %d of %d bytes", h.Chunk, h.Chunks, len(body), h.Total))
	}
	sum := digest(body)
	if sum != h.SHA256 {
		return Item{}, "", fmt.Errorf("unmarshal item: %w", reject(h.ItemID, h.Device, ReasonDigestMismatch, "body does not match its SHA-256"))
	}
	return itemFrom(&h, append([]byte(nil), body...)), sum, nil
}

// Validate checks what the wire needs of an item: a valid item id and
// device, the same in Meta, and part names that are not empty.
func (it *Item) Validate() error {
	if err := ValidItemID(it.Meta.ItemID); err != nil {
		return err
	}
	if err := ValidDevice(it.Meta.Device); err != nil {
		return err
	}
	for i, p := range it.Parts {
		if p.Name == "" {
			return fmt.Errorf("part %d has no name", i)
		}
	}
	return nil
}

func (it *Item) body() []byte {
	b := make([]byte, 0, it.Size())
	for _, p := range it.Parts {
		b = append(b, p.Data...)
	}
	return b
}

func baseHeader(it *Item, total int64, sum string) Header {
	parts := make([]PartInfo, len(it.Parts))
	for i, p := range it.Parts {
		parts[i] = PartInfo{Name: p.Name, ContentType: p.ContentType, Size: int64(len(p.Data))}
	}
	m := it.Meta
	return Header{
		ItemID: m.ItemID,
		Device: m.Device,
		Seq:    m.Seq,
		Total:  total,
		SHA256: sum,
		Parts:  parts,
		Meta:   &m,
	}
}

// itemFrom builds the item of a chunk-0 header and the whole body; the
// parts alias body.
func itemFrom(h *Header, body []byte) Item {
	it := Item{Meta: *h.Meta, Parts: make([]Part, len(h.Parts)), Digest: h.SHA256}
	var off int64
	for i, p := range h.Parts {
		it.Parts[i] = Part{Name: p.Name, ContentType: p.ContentType, Data: body[off : off+p.Size : off+p.Size]}
		off += p.Size
	}
	return it
}

// BodyDigest is the SHA-256 of it's body (lower-case hex): it.Digest when
// set, else computed.
func BodyDigest(it Item) string {
	if it.Digest != "" {
		return it.Digest
	}
	h := sha256.New()
	for _, p := range it.Parts {
		h.Write(p.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
