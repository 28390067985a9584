package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
)

// A stored record (the value under the item id in the items bucket):
//
//	[0]     format version (1)
//	[1]     flags: bit 0 set when the image bytes were evicted
//	[2:10]  PutAt, Unix nanoseconds, big-endian
//	[10:18] bytes that evicting the image would free (0 when evicted or
//	        when there is no image), big-endian
//	[18:]   the item, wire.Marshal
//
// A dead letter (the value in the dead bucket) is
//
//	[0:8]   RejectedAt, Unix nanoseconds, big-endian
//	[8:10]  length R of the reason, big-endian
//	[10:10+R] reason
//	[10+R:] the record as above
const (
	recVersion   = 1
	recHeader    = 18
	flagEvicted  = 1
	maxReasonLen = 1024
)

type recHead struct {
	flags    byte
	putAt    time.Time
	freeable uint64
}

func encodeRecord(h recHead, item []byte) []byte {
	b := make([]byte, recHeader, recHeader+len(item))
	b[0] = recVersion
	b[1] = h.flags
	binary.BigEndian.PutUint64(b[2:10], uint64(h.putAt.UnixNano()))
	binary.BigEndian.PutUint64(b[10:18], h.freeable)
	return append(b, item...)
}

var errBadRecord = errors.New("bad outbox record")

func decodeHead(v []byte) (recHead, error) {
	if len(v) < recHeader || v[0] != recVersion {
		return recHead{}, errBadRecord
	}
	return recHead{
		flags:    v[1],
		putAt:    time.Unix(0, int64(binary.BigEndian.Uint64(v[2:10]))),
		freeable: binary.BigEndian.Uint64(v[10:18]),
	}, nil
}

func decodeRecord(id string, v []byte) (Record, error) {
	h, err := decodeHead(v)
	if err != nil {
		return Record{}, fmt.Errorf("record %s: %w", id, err)
	}
	it, sum, err := wire.UnmarshalDigest(v[recHeader:])
	if err != nil {
		return Record{}, fmt.Errorf("record %s: %w", id, err)
	}
	return Record{ID: id, Item: it, Size: len(v), PutAt: h.putAt, ImageEvicted: h.flags&flagEvicted != 0, Digest: sum}, nil
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
	return it, dropped
}
