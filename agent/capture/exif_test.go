package capture

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/internal/photo"
)

// exifJPEG returns a JPEG of img size 16x16 with an EXIF block holding
// DateTimeOriginal 2024:05:01 10:20:30 and GPS 47°30'N 8°15'W, 350 m.
func exifJPEG(t *testing.T) []byte {
	t.Helper()
	le := binary.LittleEndian
	tiff := make([]byte, 210)
	copy(tiff, "II")
	le.PutUint16(tiff[2:], 42)
	le.PutUint32(tiff[4:], 8)
	entry := func(at int, tag, typ uint16, count, value uint32) {
		le.PutUint16(tiff[at:], tag)
		le.PutUint16(tiff[at+2:], typ)
		le.PutUint32(tiff[at+4:], count)
		le.PutUint32(tiff[at+8:], value)
	}
	// IFD0 at 8: the Exif and GPS sub-IFD pointers.
	le.PutUint16(tiff[8:], 2)
	entry(10, 0x8769, 4, 1, 38)
	entry(22, 0x8825, 4, 1, 76)
	// Exif IFD at 38: DateTimeOriginal, its text at 56.
	le.PutUint16(tiff[38:], 1)
	entry(40, 0x9003, 2, 20, 56)
	copy(tiff[56:], "2024:05:01 10:20:30\x00")
	// GPS IFD at 76, values from 154.
	le.PutUint16(tiff[76:], 6)
	entry(78, 1, 2, 2, uint32('N'))
	entry(90, 2, 5, 3, 154)
	entry(102, 3, 2, 2, uint32('W'))
	entry(114, 4, 5, 3, 178)
	entry(126, 5, 1, 1, 0)
	entry(138, 6, 5, 1, 202)
	rats := []uint32{47, 1, 30, 1, 0, 1, 8, 1, 15, 1, 0, 1, 350, 1}
	for i, v := range rats {
		le.PutUint32(tiff[154+4*i:], v)
	}
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	plain := encode(t, "jpeg", testImage(16, 16, 5))
	var out bytes.Buffer
	out.Write([]byte{0xff, 0xd8, 0xff, 0xe1})
	binary.Write(&out, binary.BigEndian, uint16(len(app1)+2))
	out.Write(app1)
	out.Write(plain[2:])
	return out.Bytes()
}

func TestEXIF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "DJI_0042.JPG")
	writeFile(t, path, exifJPEG(t))
	f, err := ReadImageFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.GPS == nil {
		t.Fatal("no GPS read from EXIF")
	}
	if f.GPS.Lat != 47.5 || f.GPS.Lon != -8.25 || f.GPS.Alt == nil || *f.GPS.Alt != 350 {
		t.Fatalf("GPS: got %+v (alt %v), want 47.5, -8.25, 350", f.GPS, f.GPS.Alt)
	}
	if f.Clock != ClockEXIF || f.Time.Year() != 2024 || f.Time.Month() != 5 || f.Time.Hour() != 10 {
		t.Fatalf("time: got %v (clock %v), want 2024-05-01 10:20:30 from EXIF", f.Time, f.Clock)
	}
	if f.Image.Rect.Dx() != 16 {
		t.Fatalf("image: got %v", f.Image.Rect)
	}
}

func FuzzDecodeImage(f *testing.F) {
	f.Add(exifJPEG(&testing.T{}))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := DecodeImage(b)
		if err == nil && img == nil {
			t.Fatal("nil image without an error")
		}
		photo.Read(b) // must not panic
	})
}
