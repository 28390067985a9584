package telemetry

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialect"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/frame"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// Record is one entry of a telemetry log (.tlog, as MAVProxy, Mission
// Planner and QGroundControl write it): the time the recorder stamped on
// it and the MAVLink frame that followed.
type Record struct {
	// Time is the recorder's stamp (8 bytes, big-endian microseconds since
	// the Unix epoch).
	Time time.Time
	// Offset is where the record starts in the log, in bytes.
	Offset int64
	// Raw is the frame's bytes as recorded; it is valid until the next
	// call to Next.
	Raw []byte
	// Frame is the decoded frame: its message is an ardupilotmega dialect
	// message, or a *message.MessageRaw for an id outside the dialect
	// (whose checksum cannot be checked).
	Frame frame.Frame
}

// Frame sizes (MAVLink 1 and 2): header, payload, checksum, signature.
const (
	v1Header  = 6
	v2Header  = 10
	checksum  = 2
	signature = 13
	stampSize = 8
)

// Bounds of a plausible record stamp (microseconds since the epoch).
var (
	minStamp = uint64(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
	maxStamp = uint64(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
)

// LogReader reads the records of a telemetry log one at a time. Bytes that
// do not form a valid record (a bad magic byte, a stamp outside 2000 to
// 2100, a frame whose checksum is wrong) are skipped and counted, and
// reading resumes at the next valid record; a log cut in the middle of a
// record ends with an error wrapping ErrTruncated after every record
// before the cut. A LogReader is used by one goroutine.
type LogReader struct {
	br      *bufio.Reader
	off     int64
	skipped int64
	lost    bool  // bytes were skipped since the last record
	cut     int64 // where a record too long for what is left began (-1: none since the last record)
	cutLen  int
	raw     []byte
	src     bytes.Reader
	fbuf    *bufio.Reader
	fr      *frame.Reader
}

// dialectRW decodes the messages of the ardupilotmega dialect (which
// includes common).
var dialectRW = func() *dialect.ReadWriter {
	rw := &dialect.ReadWriter{Dialect: ardupilotmega.Dialect}
	if err := rw.Initialize(); err != nil {
		panic(fmt.Sprintf("telemetry: ardupilotmega dialect: %v", err))
	}
	return rw
}()

// NewLogReader returns a reader of the log r.
func NewLogReader(r io.Reader) *LogReader {
	l := &LogReader{br: bufio.NewReaderSize(r, 64<<10), cut: -1}
	l.fbuf = bufio.NewReaderSize(&l.src, 512)
	l.fr = &frame.Reader{BufByteReader: l.fbuf, DialectRW: dialectRW}
	return l
}

// Skipped is the number of bytes skipped so far because they did not
// form a valid record.
func (l *LogReader) Skipped() int64 { return l.skipped }

// Offset is how many bytes of the log have been consumed.
func (l *LogReader) Offset() int64 { return l.off }

// Next returns the next record, io.EOF at the end of the log, or an error
// wrapping ErrTruncated when the log ends inside a record.
func (l *LogReader) Next() (Record, error) {
	for {
		hdr, err := l.br.Peek(stampSize + 3)
		if err != nil {
			return Record{}, l.end(len(hdr), err)
		}
		stamp := binary.BigEndian.Uint64(hdr)
		n := 0
		switch hdr[stampSize] {
		case frame.V1MagicByte:
			n = v1Header + int(hdr[stampSize+1]) + checksum
		case frame.V2MagicByte:
			n = v2Header + int(hdr[stampSize+1]) + checksum
			if hdr[stampSize+2]&1 != 0 { // MAVLINK_IFLAG_SIGNED
				n += signature
			}
		}
		if n == 0 || stamp < minStamp || stamp > maxStamp {
			l.skip()
			continue
		}
		rec, err := l.br.Peek(stampSize + n)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return Record{}, fmt.Errorf("read telemetry log at byte %d: %w", l.off, err)
			}
			// Fewer bytes left than this record needs: the log was cut in
			// it, unless these are bad bytes before a last short record.
			if l.cut < 0 {
				l.cut, l.cutLen = l.off, len(rec)
			}
			l.skip()
			continue
		}
		l.src.Reset(rec[stampSize:])
		l.fbuf.Reset(&l.src)
		f, err := l.fr.Read()
		if err != nil || l.fbuf.Buffered() != 0 || l.src.Len() != 0 || (l.lost && !known(f)) {
			// A frame that does not check out: resynchronise. After lost
			// bytes only a frame whose checksum could be checked counts.
			l.skip()
			continue
		}
		l.lost, l.cut = false, -1
		r := Record{Time: time.UnixMicro(int64(stamp)).UTC(), Offset: l.off, Frame: f}
		l.raw = append(l.raw[:0], rec[stampSize:]...)
		r.Raw = l.raw
		if _, err := l.br.Discard(stampSize + n); err != nil {
			return Record{}, err
		}
		l.off += int64(stampSize + n)
		return r, nil
	}
}

// skip drops one byte that does not start a valid record.
func (l *LogReader) skip() {
	if _, err := l.br.Discard(1); err == nil {
		l.off++
		l.skipped++
		l.lost = true
	}
}

// known reports whether f's message is in the dialect (so its checksum
// was checked).
func known(f frame.Frame) bool {
	_, raw := f.GetMessage().(*message.MessageRaw)
	return !raw
}

// end is the error of a read that found have bytes (too few for a
// record) where a record should be: io.EOF at a clean end, ErrTruncated
// when the log ends inside a record.
func (l *LogReader) end(have int, err error) error {
	if !errors.Is(err, io.EOF) {
		return fmt.Errorf("read telemetry log at byte %d: %w", l.off, err)
	}
	switch {
	case l.cut >= 0:
		return fmt.Errorf("%w: %d bytes at byte %d do not make a whole record", ErrTruncated, l.cutLen, l.cut)
	case have > 0:
		return fmt.Errorf("%w: %d bytes at byte %d do not make a whole record", ErrTruncated, have, l.off)
	}
	return io.EOF
}
