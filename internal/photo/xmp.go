package photo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Namespaces of the XMP properties read here.
const (
	nsDJI  = "http://www.dji.com/drone-dji/1.0/"
	nsTIFF = "http://ns.adobe.com/tiff/1.0/"
)

// maxXMP bounds the XMP packet parsed (a JPEG segment holds at most 64 KiB).
const maxXMP = 1 << 20

// readXMP reads the DJI flight block (and the camera make and model when
// EXIF did not give them) from an XMP packet, as attributes of
// rdf:Description or as its child elements. A packet that is not
// well-formed XML, or has a DJI value that is not a number in range,
// sets nothing and returns the error.
func (m *Meta) readXMP(packet []byte) error {
	if len(packet) > maxXMP {
		return fmt.Errorf("%d bytes, more than %d", len(packet), maxXMP)
	}
	// XMP packets may be padded with whitespace and wrapped in <?xpacket?>.
	vals := map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(packet))
	dec.Strict = true
	var stack []xml.Name
	var text strings.Builder
	sawRoot := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			sawRoot = true
			stack = append(stack, t.Name)
			text.Reset()
			for _, a := range t.Attr {
				if a.Name.Space == nsDJI || a.Name.Space == nsTIFF {
					vals[a.Name.Space+a.Name.Local] = a.Value
				}
			}
		case xml.CharData:
			if text.Len() < 256 {
				text.Write(t)
			}
		case xml.EndElement:
			if n := len(stack); n > 0 {
				top := stack[n-1]
				if top.Space == nsDJI || top.Space == nsTIFF {
					vals[top.Space+top.Local] = strings.TrimSpace(text.String())
				}
				stack = stack[:n-1]
			}
			text.Reset()
		}
	}
	if !sawRoot {
		return errors.New("no XML element")
	}
	var got struct{ rel, fyaw, gyaw, gpitch *float64 }
	for _, f := range []struct {
		name   string
		lo, hi float64
		dst    **float64
	}{
		{"RelativeAltitude", -2000, 20000, &got.rel},
		{"FlightYawDegree", -360, 360, &got.fyaw},
		{"GimbalYawDegree", -360, 360, &got.gyaw},
		{"GimbalPitchDegree", -180, 180, &got.gpitch},
	} {
		s, ok := vals[nsDJI+f.name]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || v < f.lo || v > f.hi {
			return fmt.Errorf("drone-dji:%s %q is not a number in [%g, %g]", f.name, s, f.lo, f.hi)
		}
		*f.dst = &v
	}
	m.RelAltM, m.FlightYawDeg, m.GimbalYawDeg, m.GimbalPitchDeg = got.rel, got.fyaw, got.gyaw, got.gpitch
	if m.Make == "" {
		m.Make = vals[nsTIFF+"Make"]
	}
	if m.Model == "" {
		m.Model = vals[nsTIFF+"Model"]
	}
	return nil
}
