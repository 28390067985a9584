package photo

import (
	"fmt"
	"math"
	"strings"
)

// Options are what a device's configuration adds to a photo's own
// metadata.
type Options struct {
	// GSDM, when positive, is the ground sample distance set by hand
	// (capture.gsd_m): it wins over everything the photo says.
	GSDM float64
	// AltitudeM, when positive, is the camera's height above the ground
	// (capture.altitude_m, for a fixed mast camera); a photo's own height
	// (DJI RelativeAltitude) wins over it.
	AltitudeM float64
	// SensorWidthMM and FocalMM describe the device's camera
	// (camera.sensor_width_mm, camera.focal_length_mm, or the board
	// profile's camera): they stand in for what a photo's EXIF does not
	// say (its model in the sensor table, its focal length).
	SensorWidthMM, FocalMM float64
	// TelemetryHeightM, when set, is the height above home that the flight
	// controller's telemetry gave for this frame: it wins over every other
	// height, and the GSD it gives has SourceTelemetry.
	TelemetryHeightM *float64
}

// Sources of a ground sample distance.
const (
	SourceConfig  = "config"  // set by hand (capture.gsd_m)
	SourceGeoTIFF = "geotiff" // the GeoTIFF's pixel size
	SourceCamera  = "camera"  // focal length, sensor width and height above ground
	// SourceTelemetry: the camera model with the height from the flight
	// controller's telemetry.
	SourceTelemetry = "telemetry"
)

// Sources of a height above ground.
const (
	HeightXMP       = "xmp"       // DJI RelativeAltitude: above the take-off point
	HeightConfig    = "config"    // capture.altitude_m
	HeightTelemetry = "telemetry" // GLOBAL_POSITION_INT relative_alt: above home
)

// Ground is what a photo's metadata gives of its scale on the ground.
type Ground struct {
	// GSDM is the ground sample distance in metres per pixel (0: unknown).
	GSDM float64
	// Source is where GSDM came from (SourceConfig, ...; "" if unknown).
	Source string
	// HeightM is the camera's height above the ground, when known, and
	// HeightSource where it came from.
	HeightM      *float64
	HeightSource string
	// SensorWidthMM is the sensor width the camera model used, and
	// SensorFrom how it was found ("table FC300S", "35 mm equivalent").
	SensorWidthMM float64
	SensorFrom    string
	// Note says why GSDM is unknown, or what is only approximate.
	Note string
}

// Ground works out the ground sample distance of the photo, whose decoded
// image is width pixels wide, in this order: o.GSDM set by hand, the
// GeoTIFF's pixel size, then the camera model (sensor width from the
// camera table, else o.SensorWidthMM, else from the 35 mm equivalent focal
// length; the focal length from EXIF, else o.FocalMM; the height above
// ground from telemetry, else the DJI XMP, else o.AltitudeM). Flat ground
// below the camera and a nadir view are assumed.
func (m *Meta) Ground(width int, o Options) Ground {
	var g Ground
	switch {
	case o.TelemetryHeightM != nil:
		h := *o.TelemetryHeightM
		g.HeightM, g.HeightSource = &h, HeightTelemetry
	case m.RelAltM != nil && *m.RelAltM > 0:
		g.HeightM, g.HeightSource = m.RelAltM, HeightXMP
	case o.AltitudeM > 0:
		h := o.AltitudeM
		g.HeightM, g.HeightSource = &h, HeightConfig
	}
	if o.GSDM > 0 {
		g.GSDM, g.Source = o.GSDM, SourceConfig
		return g
	}
	if m.GeoTIFF != nil {
		if v := PixelSizeM(*m.GeoTIFF); v > 0 {
			g.GSDM, g.Source = v, SourceGeoTIFF
			return g
		}
		g.Note = "GeoTIFF pixel size is not in metres or degrees"
		return g
	}
	var missing []string
	sw, from := m.sensorWidth()
	if sw == 0 && o.SensorWidthMM > 0 {
		sw, from = o.SensorWidthMM, "configured camera"
	}
	focal := m.FocalMM
	if focal == 0 {
		focal = o.FocalMM
	}
	if sw == 0 && m.Focal35MM == 0 {
		if focal == 0 && m.Model == "" {
			missing = append(missing, "no camera data in EXIF (focal length, model) and camera.sensor_width_mm, camera.focal_length_mm are not set")
		} else {
			missing = append(missing, fmt.Sprintf("camera %q is not in the sensor table and EXIF has no FocalLengthIn35mmFilm", strings.TrimSpace(m.Make+" "+m.Model)))
		}
	}
	if sw > 0 && focal == 0 && m.Focal35MM == 0 {
		missing = append(missing, "no focal length in EXIF and camera.focal_length_mm is not set")
	}
	if g.HeightM == nil {
		missing = append(missing, "no height above ground (the photo has no DJI RelativeAltitude and capture.altitude_m is not set)")
	}
	if width <= 0 {
		missing = append(missing, "image width unknown")
	}
	if len(missing) > 0 {
		g.Note = "GSD unknown: " + strings.Join(missing, "; ")
		return g
	}
	h := *g.HeightM
	if h <= 0 {
		g.Note = fmt.Sprintf("GSD unknown: height above ground %.1f m (%s)", h, g.HeightSource)
		return g
	}
	switch {
	case sw > 0 && focal > 0:
		g.GSDM = sw * h / (focal * float64(width))
		g.SensorWidthMM, g.SensorFrom = sw, from
	default: // 35 mm equivalent: sensor width = 36 mm x focal / focal35
		g.GSDM = 36 * h / (m.Focal35MM * float64(width))
		g.SensorFrom = "35 mm equivalent"
		if m.FocalMM > 0 {
			g.SensorWidthMM = 36 * m.FocalMM / m.Focal35MM
		}
		g.Note = "sensor width from the 35 mm equivalent focal length (about 5% uncertain)"
	}
	g.Source = SourceCamera
	if g.HeightSource == HeightTelemetry {
		g.Source = SourceTelemetry
	}
	if g.GSDM <= 0 || math.IsNaN(g.GSDM) || math.IsInf(g.GSDM, 0) || g.GSDM > 100 {
		return Ground{HeightM: g.HeightM, HeightSource: g.HeightSource, Note: fmt.Sprintf("GSD %v m out of range", g.GSDM)}
	}
	return g
}

// sensorWidth looks the camera up in the sensor table.
func (m *Meta) sensorWidth() (mm float64, from string) {
	model := strings.ToUpper(strings.TrimSpace(m.Model))
	if w, ok := sensorWidths[model]; ok {
		return w, "table " + strings.TrimSpace(m.Model)
	}
	return 0, ""
}

// PixelSizeM is the size of a GeoTIFF's pixel on the ground in metres: the
// mean of its width and height in CRS units, taken as metres for a
// projected CRS and converted from degrees (at the image's top-left corner)
// for a geographic one (EPSG 4000 to 4999). 0 if unknown.
func PixelSizeM(g GeoRef) float64 {
	t := g.Transform
	sx := math.Hypot(t[1], t[4])
	sy := math.Hypot(t[2], t[5])
	s := (sx + sy) / 2
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	var code int
	if _, err := fmt.Sscanf(g.CRS, "EPSG:%d", &code); err == nil && code >= 4000 && code < 5000 {
		lat := t[3] * math.Pi / 180
		mx := sx * 111320 * math.Cos(lat)
		my := sy * 110574
		return (mx + my) / 2
	}
	return s
}

// sensorWidths are the sensor widths, in millimetres, of common drone and
// survey cameras by EXIF Model (upper case). Sources: the makers' published
// sensor sizes (1/2.3" = 6.17 mm, 1" = 13.2 mm, 4/3" = 17.3 mm, 1/1.3" =
// 9.6 mm, 1/2" = 6.4 mm).
var sensorWidths = map[string]float64{
	"FC300S":    6.17, // Phantom 3 Professional / Advanced
	"FC300X":    6.17, // Phantom 3 Professional 4K
	"FC300C":    6.17, // Phantom 3 Standard
	"FC330":     6.17, // Phantom 4
	"FC6310":    13.2, // Phantom 4 Pro
	"FC6310S":   13.2, // Phantom 4 Pro V2
	"FC6310R":   13.2, // Phantom 4 RTK
	"FC220":     6.17, // Mavic Pro
	"FC2103":    6.17, // Mavic Air
	"FC2204":    6.17, // Mavic Mini
	"FC7203":    6.17, // Mini 2
	"FC3170":    6.4,  // Mavic Air 2
	"FC3411":    13.2, // Air 2S
	"L1D-20C":   13.2, // Mavic 2 Pro (Hasselblad)
	"FC2220":    6.17, // Mavic 2 Zoom
	"FC6510":    13.2, // Zenmuse X4S
	"FC6520":    17.3, // Zenmuse X5S
	"ZENMUSEP1": 35.9, // Zenmuse P1 (full frame)
	"M3E":       17.3, // Mavic 3 Enterprise
	"FC4170":    17.3, // Mavic 3
	"FC8482":    9.6,  // Mini 4 Pro
	"FC3582":    9.6,  // Mini 3 Pro
}
