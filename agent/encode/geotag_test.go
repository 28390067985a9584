package encode

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/telemetry"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/sync/wire"
)

func flightState(at time.Time) *telemetry.State {
	return &telemetry.State{Time: at, Lat: -35.3623006, Lon: 149.1651794, AltM: 601.3, HeightM: 17.7, SpeedMS: 19,
		YawDeg: 297.6, PitchDeg: 2.5, RollDeg: -1.5, HasAttitude: true, HasYaw: true, Armed: telemetry.ArmedYes, Fix: 3}
}

// TestEncodeTelemetry encodes a camera frame that carries the vehicle's
// state: the item's metadata has the position, height, yaw and pitch and
// the GSD from the height and the configured camera, and the JPEG carries
// them as EXIF GPS and DJI XMP, which internal/photo (as the cloud and
// OpenDroneMap do) reads back.
func TestEncodeTelemetry(t *testing.T) {
	e := newEncoder(t, t.TempDir(), true)
	e.o.Ground = photo.Options{SensorWidthMM: 6.45, FocalMM: 4.74}
	e.o.Camera = "pi-camera-3"
	at := time.Date(2016, 11, 12, 23, 46, 51, 200e6, time.UTC)
	f, r := frame(at, capture.ClockName)
	f.GPS = nil
	f.Telemetry = flightState(at)
	it, err := e.Encode(f, r)
	if err != nil {
		t.Fatal(err)
	}
	m := it.Meta
	wantGSD := 6.45 * 17.7 / (4.74 * 64)
	if m.GPS == nil || m.GPS.Lat != -35.3623006 || m.GPS.Lon != 149.1651794 || m.GPS.Alt == nil || *m.GPS.Alt != 601.3 ||
		m.HeightM == nil || *m.HeightM != 17.7 || m.YawDeg == nil || *m.YawDeg != 297.6 || m.GimbalPitchDeg == nil ||
		*m.GimbalPitchDeg != -92.5 || math.Abs(m.GSD-wantGSD) > 1e-9 || m.GSDSource != photo.SourceTelemetry || m.GeoNote != "" {
		t.Fatalf("meta: gps %+v height %v yaw %v pitch %v gsd %v (%s) note %q; want the state's, gsd %v from telemetry",
			m.GPS, m.HeightM, m.YawDeg, m.GimbalPitchDeg, m.GSD, m.GSDSource, m.GeoNote, wantGSD)
	}
	jpg := it.Part(wire.PartImage)
	if _, err := jpeg.Decode(bytes.NewReader(jpg)); err != nil {
		t.Fatalf("the tagged JPEG does not decode: %v", err)
	}
	p := photo.Read(jpg)
	if len(p.Problems) > 0 || p.GPS == nil || math.Abs(p.GPS.Lat+35.3623006) > 1e-7 || math.Abs(p.GPS.Lon-149.1651794) > 1e-7 ||
		p.GPS.Alt == nil || math.Abs(*p.GPS.Alt-601.3) > 1e-3 {
		t.Fatalf("EXIF GPS: %+v %v, problems %v", p.GPS, p.GPS, p.Problems)
	}
	if p.Time.Format("2006-01-02 15:04:05.000") != "2016-11-12 23:46:51.200" || p.Model != "pi-camera-3" || p.FocalMM != 4.74 ||
		p.Focal35MM != math.Round(36*4.74/6.45) {
		t.Errorf("EXIF: time %v model %q focal %v (35 mm %v)", p.Time, p.Model, p.FocalMM, p.Focal35MM)
	}
	if p.RelAltM == nil || *p.RelAltM != 17.7 || p.GimbalPitchDeg == nil || *p.GimbalPitchDeg != -92.5 ||
		p.GimbalYawDeg == nil || *p.GimbalYawDeg != 297.6 || p.FlightYawDeg == nil || *p.FlightYawDeg != 297.6 {
		t.Errorf("XMP: rel %v gimbal pitch %v yaw %v flight yaw %v", p.RelAltM, p.GimbalPitchDeg, p.GimbalYawDeg, p.FlightYawDeg)
	}
	// What the cloud's camera model makes of the JPEG alone agrees.
	if g := p.Ground(64, photo.Options{SensorWidthMM: 6.45}); math.Abs(g.GSDM/wantGSD-1) > 1e-3 {
		t.Errorf("GSD from the JPEG's own metadata %v, want %v", g.GSDM, wantGSD)
	}

	// A frame outside the telemetry: no position, the reason in the note,
	// no EXIF written.
	f.Telemetry, f.TelemetryNote = nil, "not placed by telemetry: outside the telemetry: ..."
	it, err = e.Encode(f, r)
	if err != nil {
		t.Fatal(err)
	}
	if m := it.Meta; m.GPS != nil || m.HeightM != nil || m.GSD != 0 || !strings.Contains(m.GeoNote, "not placed by telemetry: outside") {
		t.Errorf("outside: gps %v height %v gsd %v note %q", m.GPS, m.HeightM, m.GSD, m.GeoNote)
	}
	if p := photo.Read(it.Part(wire.PartImage)); p.GPS != nil || len(p.Segments) > 0 {
		t.Errorf("outside: the JPEG has metadata %+v", p)
	}
}

// cameraEXIF is a camera's EXIF: make, model and a big-endian layout,
// without GPS.
func cameraEXIF() []byte {
	d := &ifd{order: binary.BigEndian}
	d.ascii(tagMake, "SONY")
	d.ascii(tagModel, "ILCE-6000")
	d.ascii(tagDateTime, "2016:11:13 10:46:51")
	return d.appendTo(append([]byte("MM\x00*"), 0, 0, 0, 8), 8, 0)
}

// TestGeotagPhoto tags a camera's JPEG photo (sent as it is) with the
// vehicle's state: its EXIF keeps every tag and gains a GPS directory;
// a photo that has a position already is left as it is.
func TestGeotagPhoto(t *testing.T) {
	e := newEncoder(t, t.TempDir(), true)
	at := time.Date(2016, 11, 12, 23, 46, 51, 0, time.UTC)
	f, r := frame(at, capture.ClockEXIF)
	plain, err := encodeJPEG(f.Image, 90)
	if err != nil {
		t.Fatal(err)
	}
	own := withSegments(plain, [][]byte{app1(exifHeader, cameraEXIF())})
	meta := photo.Read(own)
	if meta.Model != "ILCE-6000" || meta.GPS != nil {
		t.Fatalf("the test photo: %+v", meta)
	}
	f.Encoded, f.Photo, f.GPS, f.Telemetry = own, &meta, nil, flightState(at)
	it, err := e.Encode(f, r)
	if err != nil {
		t.Fatal(err)
	}
	jpg := it.Part(wire.PartImage)
	p := photo.Read(jpg)
	if p.Make != "SONY" || p.Model != "ILCE-6000" || p.GPS == nil || math.Abs(p.GPS.Lat+35.3623006) > 1e-7 || p.RelAltM == nil {
		t.Fatalf("tagged photo: %+v", p)
	}
	if _, err := jpeg.Decode(bytes.NewReader(jpg)); err != nil {
		t.Fatalf("the tagged photo does not decode: %v", err)
	}
	// Tagged again (it has GPS and XMP now): unchanged.
	f.Encoded, f.Photo = jpg, &p
	again, err := e.Encode(f, r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Part(wire.PartImage), jpg) {
		t.Error("a photo with GPS and XMP was changed")
	}
}

func TestWithGPSRejects(t *testing.T) {
	s := flightState(time.Now())
	for name, b := range map[string][]byte{
		"short":         []byte("II*\x00"),
		"not TIFF":      []byte("PK\x03\x04\x08\x00\x00\x00"),
		"IFD past end":  append([]byte("II*\x00"), 0xff, 0, 0, 0),
		"count too big": append([]byte("II*\x00"), 8, 0, 0, 0, 0xff, 0xff),
	} {
		if _, ok := withGPS(b, s); ok {
			t.Errorf("%s: extended", name)
		}
	}
}
