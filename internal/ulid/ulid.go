// Package ulid makes ULIDs: 128-bit identifiers, 48 bits of milliseconds
// since the Unix epoch then 80 random bits, written as 26 characters of
// Crockford base32 so that their text sorts in time order
// (https://github.com/ulid/spec).
//
// A Generator is monotonic: two ids made for the same millisecond differ by
// one in their random part, so they still sort in the order they were made.
// A Generator is safe for concurrent use.
package ulid

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"
)

// ErrOverflow is returned when the random part of one millisecond is
// exhausted (after 2^80 ids in the same millisecond, or by bad luck near
// the top of the range).
var ErrOverflow = errors.New("ulid: monotonic random part overflowed")

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Generator makes monotonic ULIDs.
type Generator struct {
	mu      sync.Mutex
	entropy io.Reader
	lastMS  uint64
	lastHi  uint16 // top 16 bits of the random part
	lastLo  uint64 // low 64 bits of the random part
}

// NewGenerator returns a Generator that reads randomness from entropy
// (crypto/rand when nil).
func NewGenerator(entropy io.Reader) *Generator {
	if entropy == nil {
		entropy = rand.Reader
	}
	return &Generator{entropy: entropy}
}

// New returns the ULID for time t. Times before the Unix epoch count as the
// epoch. Ids made for the same millisecond as the previous one increment
// its random part; ids made for an earlier millisecond get fresh
// randomness (they still sort by time, not by order of making).
func (g *Generator) New(t time.Time) (string, error) {
	ms := uint64(0)
	if u := t.UnixMilli(); u > 0 {
		ms = uint64(u) & (1<<48 - 1)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if ms == g.lastMS && (g.lastHi != 0 || g.lastLo != 0) {
		g.lastLo++
		if g.lastLo == 0 {
			g.lastHi++
			if g.lastHi == 0 {
				return "", ErrOverflow
			}
		}
	} else {
		var b [10]byte
		if _, err := io.ReadFull(g.entropy, b[:]); err != nil {
			return "", err
		}
		g.lastMS = ms
		g.lastHi = binary.BigEndian.Uint16(b[:2])
		g.lastLo = binary.BigEndian.Uint64(b[2:])
		if g.lastHi == 0 && g.lastLo == 0 {
			g.lastLo = 1
		}
	}
	return encode(ms, g.lastHi, g.lastLo), nil
}

// encode writes 48+16+64 bits as 26 base32 characters (the first
// character carries the top 3 bits of 130, so it is at most '7').
func encode(ms uint64, hi uint16, lo uint64) string {
	var b [16]byte
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	binary.BigEndian.PutUint16(b[6:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	var out [26]byte
	// Two leading zero bits make 130 bits, 26 groups of 5.
	var acc uint64
	bits, j := 2, 0
	for _, c := range b {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[j] = alphabet[(acc>>uint(bits))&31]
			j++
		}
	}
	return string(out[:])
}

// Time returns the millisecond time encoded in id.
func Time(id string) (time.Time, error) {
	if len(id) != 26 {
		return time.Time{}, errors.New("ulid: wrong length")
	}
	var ms uint64
	for i := 0; i < 10; i++ {
		v := decodeChar(id[i])
		if v < 0 {
			return time.Time{}, errors.New("ulid: invalid character")
		}
		ms = ms<<5 | uint64(v)
	}
	return time.UnixMilli(int64(ms)), nil
}

func decodeChar(c byte) int {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	for i := 0; i < len(alphabet); i++ {
		if alphabet[i] == c {
			return i
		}
	}
	return -1
}
