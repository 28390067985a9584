package outbox

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
)

// A stored record (the value under the item id in the items bucket) starts
// with
//
//	[0]     record version (1 or 2)
//	[1]     flags: bit 0 set when the image bytes were evicted
//	[2:10]  PutAt, Unix nanoseconds, big-endian
//	[10:18] bytes that evicting the image would free (0 when evicted or
//	        when there is no image), big-endian
//
// Version 2 (this release writes it) holds the item as the wire frames the
// publisher sends, so that sending it costs one copy out of the file and a
// CRC, no re-framing and no SHA-256:
//
//	[18:22]  CRC-32C (Castagnoli) of everything after it, big-endian
//	[22:54]  SHA-256 of the item's body (the digest the frames carry)
//	[54:]    the frames, one after the other, then the length of each
//	         frame and their number N (4 bytes each, big-endian)
//
// Version 1 (written by earlier releases, still read) holds the item as one
// single-chunk frame (wire.Marshal) from byte 18 on; it is checked against
// its SHA-256 when read and chunked then.
//
// A dead letter (the value in the dead bucket) is
//
//	[0:8]   RejectedAt, Unix nanoseconds, big-endian
//	[8:10]  length R of the reason, big-endian
//	[10:10+R] reason
//	[10+R:] the record as above
const (
	recV1        = 1
	recV2        = 2
	recHeader    = 18
	recV2Fixed   = recHeader + 4 + 32
	flagEvicted  = 1
	maxReasonLen = 1024
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type recHead struct {
	version  byte
	flags    byte
	putAt    time.Time
	freeable uint64
}

// putHead writes h (with version 2) over the first recHeader bytes of a
// record made by encodeFrames. The CRC does not cover them, so that they
// can be set in the transaction.
func putHead(rec []byte, h recHead) {
	rec[0] = recV2
	rec[1] = h.flags
	binary.BigEndian.PutUint64(rec[2:10], uint64(h.putAt.UnixNano()))
	binary.BigEndian.PutUint64(rec[10:18], h.freeable)
}

// encodeFrames makes a version 2 record of it, in frames of at most
// maxFrame bytes, with a zero head (see putHead). The frames are written
// straight into the record.
func encodeFrames(it wire.Item, maxFrame int) ([]byte, error) {
	sum := wire.BodyDigest(it)
	raw, err := hex.DecodeString(sum)
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("item %s: bad digest %q", it.Meta.ItemID, sum)
	}
	rec := make([]byte, recV2Fixed, recV2Fixed+it.Size()+4<<10)
	copy(rec[22:54], raw)
	rec, lens, err := wire.AppendChunks(rec, it, sum, maxFrame)
	if err != nil {
		return nil, err
	}
	for _, n := range lens {
		rec = binary.BigEndian.AppendUint32(rec, uint32(n))
	}
	rec = binary.BigEndian.AppendUint32(rec, uint32(len(lens)))
	binary.BigEndian.PutUint32(rec[18:22], crc32.Checksum(rec[22:], castagnoli))
	return rec, nil
}

var errBadRecord = errors.New("bad outbox record")

// errDamaged says that a record's bytes on disk are not what was written:
// its CRC-32C (version 2) or its SHA-256 (version 1) does not match.
var errDamaged = errors.New("record damaged on disk")

func decodeHead(v []byte) (recHead, error) {
	if len(v) < recHeader || (v[0] != recV1 && v[0] != recV2) {
		return recHead{}, errBadRecord
	}
	return recHead{
		version:  v[0],
		flags:    v[1],
		putAt:    time.Unix(0, int64(binary.BigEndian.Uint64(v[2:10]))),
		freeable: binary.BigEndian.Uint64(v[10:18]),
	}, nil
}

// readFrames returns the record's frames and digest from v (which may be
// bbolt's memory: the frames are copied into one new buffer), after
// checking its CRC-32C. Version 1 records are decoded, checked against
// their SHA-256 and chunked in frames of at most maxFrame bytes.
func readFrames(id string, v []byte, maxFrame int) (Record, error) {
	h, err := decodeHead(v)
	if err != nil {
		return Record{}, fmt.Errorf("record %s: %w", id, err)
	}
	r := Record{ID: id, Size: len(v), PutAt: h.putAt, ImageEvicted: h.flags&flagEvicted != 0}
	if h.version == recV1 {
		it, sum, err := wire.UnmarshalDigest(v[recHeader:])
		if err != nil {
			return Record{}, fmt.Errorf("record %s: %w: %w", id, errDamaged, err)
		}
		if r.Frames, err = wire.ChunkDigest(it, sum, maxFrame); err != nil {
			return Record{}, fmt.Errorf("record %s: %w", id, err)
		}
		r.Item, r.Digest = it, sum
		return r, nil
	}
	if len(v) < recV2Fixed+4 {
		return Record{}, fmt.Errorf("record %s: %w", id, errBadRecord)
	}
	if crc32.Checksum(v[22:], castagnoli) != binary.BigEndian.Uint32(v[18:22]) {
		return Record{}, fmt.Errorf("record %s: %w: CRC-32C mismatch", id, errDamaged)
	}
	n := int(binary.BigEndian.Uint32(v[len(v)-4:]))
	if n < 1 || n > wire.MaxChunks || len(v) < recV2Fixed+4+4*n {
		return Record{}, fmt.Errorf("record %s: %w: %d frames", id, errBadRecord, n)
	}
	table := len(v) - 4 - 4*n // the frames' lengths
	buf := append([]byte(nil), v[recV2Fixed:table]...)
	r.Frames = make([][]byte, n)
	off := 0
	for i := range n {
		l := int(binary.BigEndian.Uint32(v[table+4*i:]))
		if l > len(buf)-off {
			return Record{}, fmt.Errorf("record %s: %w: frame %d overruns the record", id, errBadRecord, i)
		}
		r.Frames[i] = buf[off : off+l : off+l]
		off += l
	}
	if off != len(buf) {
		return Record{}, fmt.Errorf("record %s: %w: %d bytes the frames do not account for", id, errBadRecord, len(buf)-off)
	}
	r.Digest = hex.EncodeToString(v[22:54])
	return r, nil
}

// decodeRecord is readFrames with the item decoded too (Next, dead
// letters, eviction): its frames joined and checked against the SHA-256.
func decodeRecord(id string, v []byte, maxFrame int) (Record, error) {
	r, err := readFrames(id, v, maxFrame)
	if err != nil || r.Item.Meta.ItemID != "" {
		return r, err
	}
	if r.Item, err = wire.Join(r.Frames); err != nil {
		return Record{}, fmt.Errorf("record %s: %w: %w", id, errDamaged, err)
	}
	return r, nil
}

func encodeDead(reason string, at time.Time, rec []byte) []byte {
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	b := make([]byte, 10, 10+len(reason)+len(rec))
	binary.BigEndian.PutUint64(b[0:8], uint64(at.UnixNano()))
	binary.BigEndian.PutUint16(b[8:10], uint16(len(reason)))
	b = append(b, reason...)
	return append(b, rec...)
}

func splitDead(v []byte) (reason string, at time.Time, rec []byte, err error) {
	if len(v) < 10 {
		return "", time.Time{}, nil, errBadRecord
	}
	n := int(binary.BigEndian.Uint16(v[8:10]))
	if len(v) < 10+n {
		return "", time.Time{}, nil, errBadRecord
	}
	return string(v[10 : 10+n]), time.Unix(0, int64(binary.BigEndian.Uint64(v[0:8]))), v[10+n:], nil
}

// withoutImage returns it with the image part's bytes dropped and the
// eviction noted in its metadata, and whether there was anything to drop.
func withoutImage(it wire.Item) (wire.Item, bool) {
	parts := make([]wire.Part, len(it.Parts))
	copy(parts, it.Parts)
	dropped := false
	for i := range parts {
		if parts[i].Name == wire.PartImage && len(parts[i].Data) > 0 {
			parts[i].Data = nil
			dropped = true
		}
	}
	it.Parts = parts
	it.Meta.ImageEvicted = true
	it.Digest = ""
	return it, dropped
}
