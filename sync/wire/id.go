package wire

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var idMu sync.Mutex
var lastMS uint64
var lastRand [10]byte

// NewID returns a ULID for time t: 26 characters that sort by time (to the
// millisecond) and, within one process, strictly increase across calls
// (monotonic: the random part is incremented within a millisecond). Devices
// use it as the item id, so that the outbox drains in capture order.
func NewID(t time.Time) string {
	ms := uint64(max(t.UnixMilli(), 0)) & (1<<48 - 1)
	idMu.Lock()
	if ms <= lastMS {
		ms = lastMS
		// increment the 80-bit random part
		for i := 9; i >= 0; i-- {
			lastRand[i]++
			if lastRand[i] != 0 {
				break
			}
		}
	} else {
		lastMS = ms
		_, _ = rand.Read(lastRand[:])
	}
	r := lastRand
	idMu.Unlock()

	var b [16]byte
	var tb [8]byte
	binary.BigEndian.PutUint64(tb[:], ms)
	copy(b[:6], tb[2:])
	copy(b[6:], r[:])
	return encodeULID(b)
}

func encodeULID(b [16]byte) string {
	// 128 bits as 26 base-32 digits, the first digit holding 3 bits.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
