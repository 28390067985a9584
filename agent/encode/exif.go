package encode

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/agent/telemetry"
)

// TIFF field types.
const (
	tByte      = 1
	tASCII     = 2
	tShort     = 3
	tLong      = 4
	tRational  = 5
	tUndefined = 7
)

// EXIF and GPS tags written here.
const (
	tagMake                = 0x010f
	tagModel               = 0x0110
	tagDateTime            = 0x0132
	tagExifIFD             = 0x8769
	tagGPSIFD              = 0x8825
	tagExifVersion         = 0x9000
	tagDateTimeOriginal    = 0x9003
	tagOffsetTimeOriginal  = 0x9011
	tagSubSecTimeOriginal  = 0x9291
	tagFocalLength         = 0x920a
	tagFocalLength35mm     = 0xa405
	tagGPSVersionID        = 0x0000
	tagGPSLatitudeRef      = 0x0001
	tagGPSLatitude         = 0x0002
	tagGPSLongitudeRef     = 0x0003
	tagGPSLongitude        = 0x0004
	tagGPSAltitudeRef      = 0x0005
	tagGPSAltitude         = 0x0006
	tagGPSTimeStamp        = 0x0007
	tagGPSImgDirectionRef  = 0x0010
	tagGPSImgDirection     = 0x0011
	tagGPSDateStamp        = 0x001d
	maxAPP1                = 65533 // an APP1 segment's payload, its length field excluded
	exifHeader             = "Exif\x00\x00"
	xmpSegmentHeader       = "http://ns.adobe.com/xap/1.0/\x00"
	exifDateLayout         = "2006:01:02 15:04:05"
	tiffHeaderLittleEndian = "II*\x00"
)

// field is one TIFF directory entry, its value already in the file's
// byte order.
type field struct {
	tag, typ uint16
	count    uint32
	val      []byte
}

// byteOrder reads and appends in one byte order (binary.LittleEndian,
// binary.BigEndian).
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ifd is a TIFF directory being built in one byte order.
type ifd struct {
	order  byteOrder
	fields []field
}

func (d *ifd) add(tag, typ uint16, count int, val []byte) {
	d.fields = append(d.fields, field{tag, typ, uint32(count), val})
}

func (d *ifd) ascii(tag uint16, s string) {
	d.add(tag, tASCII, len(s)+1, append([]byte(s), 0))
}

func (d *ifd) long(tag uint16, v uint32) {
	d.add(tag, tLong, 1, d.order.AppendUint32(nil, v))
}

func (d *ifd) short(tag uint16, v uint16) {
	d.add(tag, tShort, 1, d.order.AppendUint16(nil, v))
}

// rational adds unsigned rationals, each value to den (a fixed
// denominator).
func (d *ifd) rational(tag uint16, den uint32, vs ...float64) {
	var b []byte
	for _, v := range vs {
		b = d.order.AppendUint32(b, uint32(math.Round(math.Abs(v)*float64(den))))
		b = d.order.AppendUint32(b, den)
	}
	d.add(tag, tRational, len(vs), b)
}

// size is the directory's size with its out-of-line values.
func (d *ifd) size() int {
	n := 2 + 12*len(d.fields) + 4
	for _, f := range d.fields {
		if len(f.val) > 4 {
			n += len(f.val) + len(f.val)%2
		}
	}
	return n
}

// set replaces the value of a LONG field (a sub-directory's offset).
func (d *ifd) set(tag uint16, v uint32) {
	for i := range d.fields {
		if d.fields[i].tag == tag {
			d.fields[i].val = d.order.AppendUint32(nil, v)
		}
	}
}

// appendTo writes the directory to b, which must be off bytes from the
// start of the TIFF structure, with next as the next directory's offset.
func (d *ifd) appendTo(b []byte, off, next uint32) []byte {
	fs := append([]field(nil), d.fields...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].tag < fs[j].tag })
	data := off + 2 + 12*uint32(len(fs)) + 4
	b = d.order.AppendUint16(b, uint16(len(fs)))
	var out []byte
	for _, f := range fs {
		b = d.order.AppendUint16(b, f.tag)
		b = d.order.AppendUint16(b, f.typ)
		b = d.order.AppendUint32(b, f.count)
		if len(f.val) <= 4 {
			b = append(b, f.val...)
			b = append(b, make([]byte, 4-len(f.val))...)
			continue
		}
		b = d.order.AppendUint32(b, data+uint32(len(out)))
		out = append(out, f.val...)
		if len(f.val)%2 == 1 {
			out = append(out, 0)
		}
	}
	b = d.order.AppendUint32(b, next)
	return append(b, out...)
}

// gpsIFD is the GPS directory of state s (at s.Time).
func gpsIFD(order byteOrder, s *telemetry.State) *ifd {
	d := &ifd{order: order}
	d.add(tagGPSVersionID, tByte, 4, []byte{2, 3, 0, 0})
	latRef, lonRef := "N", "E"
	if s.Lat < 0 {
		latRef = "S"
	}
	if s.Lon < 0 {
		lonRef = "W"
	}
	d.ascii(tagGPSLatitudeRef, latRef)
	d.rational(tagGPSLatitude, 1e7, dms(s.Lat)...)
	d.ascii(tagGPSLongitudeRef, lonRef)
	d.rational(tagGPSLongitude, 1e7, dms(s.Lon)...)
	var below byte
	if s.AltM < 0 {
		below = 1
	}
	d.add(tagGPSAltitudeRef, tByte, 1, []byte{below})
	d.rational(tagGPSAltitude, 1000, s.AltM)
	u := s.Time.UTC()
	d.rational(tagGPSTimeStamp, 1000, float64(u.Hour()), float64(u.Minute()), float64(u.Second())+float64(u.Nanosecond())/1e9)
	d.ascii(tagGPSDateStamp, u.Format("2006:01:02"))
	if yaw, ok := s.CameraYawDeg(); ok {
		d.ascii(tagGPSImgDirectionRef, "T")
		d.rational(tagGPSImgDirection, 100, yaw)
	}
	return d
}

// dms splits an angle into whole degrees, whole minutes and seconds.
func dms(deg float64) []float64 {
	a := math.Abs(deg)
	d := math.Floor(a)
	m := math.Floor((a - d) * 60)
	return []float64{d, m, (a-d)*3600 - m*60}
}

// camera is what the EXIF says of the camera that took a frame.
type camera struct {
	make, model            string
	focalMM, sensorWidthMM float64 // 0: unknown
}

// newEXIF is a whole EXIF structure (little-endian TIFF) for a frame
// taken at t (its own clock) by cam, with the GPS of s.
func newEXIF(s *telemetry.State, t time.Time, cam camera) []byte {
	le := binary.LittleEndian
	ifd0 := &ifd{order: le}
	ifd0.ascii(tagMake, cam.make)
	ifd0.ascii(tagModel, cam.model)
	u := t.UTC()
	ifd0.ascii(tagDateTime, u.Format(exifDateLayout))
	ifd0.long(tagExifIFD, 0)
	ifd0.long(tagGPSIFD, 0)
	exif := &ifd{order: le}
	exif.add(tagExifVersion, tUndefined, 4, []byte("0232"))
	exif.ascii(tagDateTimeOriginal, u.Format(exifDateLayout))
	exif.ascii(tagOffsetTimeOriginal, "+00:00")
	exif.ascii(tagSubSecTimeOriginal, fmt.Sprintf("%03d", u.Nanosecond()/1e6))
	if cam.focalMM > 0 {
		exif.rational(tagFocalLength, 1000, cam.focalMM)
		if cam.sensorWidthMM > 0 {
			exif.short(tagFocalLength35mm, uint16(math.Round(36*cam.focalMM/cam.sensorWidthMM)))
		}
	}
	gps := gpsIFD(le, s)
	exifOff := uint32(8 + ifd0.size())
	gpsOff := exifOff + uint32(exif.size())
	ifd0.set(tagExifIFD, exifOff)
	ifd0.set(tagGPSIFD, gpsOff)
	b := le.AppendUint32([]byte(tiffHeaderLittleEndian), 8)
	b = ifd0.appendTo(b, 8, 0)
	b = exif.appendTo(b, exifOff, 0)
	return gps.appendTo(b, gpsOff, 0)
}

// withGPS returns the EXIF structure tiff (a camera's, without GPS) with
// the GPS directory of s added, everything else kept byte for byte: the
// GPS directory and a copy of the first directory, with the GPS pointer
// added, are appended, and the header points to the copy (every offset in
// the old structure stays valid). ok is false when tiff is not a TIFF
// structure this can extend.
func withGPS(tiff []byte, s *telemetry.State) (out []byte, ok bool) {
	if len(tiff) < 8 {
		return nil, false
	}
	var order byteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return nil, false
	}
	off := uint64(order.Uint32(tiff[4:]))
	if off < 8 || off+2 > uint64(len(tiff)) {
		return nil, false
	}
	n := uint64(order.Uint16(tiff[off:]))
	end := off + 2 + 12*n
	if end+4 > uint64(len(tiff)) {
		return nil, false
	}
	out = append([]byte(nil), tiff...)
	if len(out)%2 == 1 {
		out = append(out, 0)
	}
	gpsOff := uint32(len(out))
	out = gpsIFD(order, s).appendTo(out, gpsOff, 0)
	if len(out)%2 == 1 {
		out = append(out, 0)
	}
	ifd0Off := uint32(len(out))
	var entries [][]byte
	for i := uint64(0); i < n; i++ {
		e := tiff[off+2+12*i : off+2+12*i+12]
		if order.Uint16(e) != tagGPSIFD {
			entries = append(entries, e)
		}
	}
	gp := order.AppendUint16(nil, tagGPSIFD)
	gp = order.AppendUint16(gp, tLong)
	gp = order.AppendUint32(gp, 1)
	entries = append(entries, order.AppendUint32(gp, gpsOff))
	sort.SliceStable(entries, func(i, j int) bool { return order.Uint16(entries[i]) < order.Uint16(entries[j]) })
	out = order.AppendUint16(out, uint16(len(entries)))
	for _, e := range entries {
		out = append(out, e...)
	}
	out = append(out, tiff[end:end+4]...) // the next directory (a thumbnail's)
	order.PutUint32(out[4:], ifd0Off)
	if len(out)+len(exifHeader) > maxAPP1 {
		return nil, false
	}
	return out, true
}

// app1 wraps payload (after its header) in an APP1 segment.
func app1(header string, payload []byte) []byte {
	n := 2 + len(header) + len(payload)
	b := []byte{0xff, 0xe1, byte(n >> 8), byte(n)}
	b = append(b, header...)
	return append(b, payload...)
}

// xmpPacket is an XMP packet with the attitude of s in the DJI names
// that the cloud (internal/photo) and OpenDroneMap read.
func xmpPacket(s *telemetry.State) []byte {
	var b strings.Builder
	b.WriteString(`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>` +
		`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about="" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"`)
	attr := func(name string, v float64) { fmt.Fprintf(&b, ` drone-dji:%s="%+.2f"`, name, v) }
	attr("AbsoluteAltitude", s.AltM)
	attr("RelativeAltitude", s.HeightM)
	if s.HasAttitude {
		attr("FlightRollDegree", s.RollDeg)
		attr("FlightPitchDegree", s.PitchDeg)
	}
	if s.HasYaw {
		attr("FlightYawDegree", s.YawDeg)
	}
	if v, ok := s.CameraRollDeg(); ok {
		attr("GimbalRollDegree", v)
	}
	if v, ok := s.CameraPitchDeg(); ok {
		attr("GimbalPitchDegree", v)
	}
	if v, ok := s.CameraYawDeg(); ok {
		attr("GimbalYawDegree", v)
	}
	b.WriteString(`/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`)
	return []byte(b.String())
}
