package raster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/canopy-forest/canopy/sync/wire"
)

// ErrNoGDAL is returned when GDAL's tools (gdal-bin) are not installed.
var ErrNoGDAL = errors.New("GDAL's command-line tools (gdalinfo, gdal_translate; Debian package gdal-bin) are not installed")

// ErrNotRaster is returned by Inspect for a file GDAL cannot open.
var ErrNotRaster = errors.New("not a raster GDAL can read")

// Available reports whether gdalinfo and gdal_translate are on the PATH.
func Available() error {
	for _, t := range []string{"gdalinfo", "gdal_translate"} {
		if _, err := exec.LookPath(t); err != nil {
			return ErrNoGDAL
		}
	}
	return nil
}

// Info is what gdalinfo says of a raster.
type Info struct {
	Driver        string
	Width, Height int
	// BandTypes are the GDAL data types of the bands ("Byte", "UInt16").
	BandTypes []string
	// RGB are the 1-based bands read as red, green and blue (a grey raster
	// repeats band 1), and Alpha the alpha band (0: none).
	RGB   [3]int
	Alpha int
	// GeoRef is the transform and CRS ("EPSG:<code>" when GDAL knows the
	// code, else its WKT); nil for a raster with no transform.
	GeoRef *wire.GeoRef
	// Compression, Tiled and BigTIFF describe the file's layout.
	Compression string
	Tiled       bool
	BigTIFF     bool
	// Overviews is the number of overview levels of band 1.
	Overviews int
}

// gdalInfo is the part of `gdalinfo -json` used here.
type gdalInfo struct {
	Driver   string    `json:"driverShortName"`
	Size     [2]int    `json:"size"`
	GeoT     []float64 `json:"geoTransform"`
	CoordSys *struct {
		WKT string `json:"wkt"`
	} `json:"coordinateSystem"`
	Metadata map[string]map[string]string `json:"metadata"`
	Bands    []struct {
		Type      string            `json:"type"`
		Color     string            `json:"colorInterpretation"`
		Block     [2]int            `json:"block"`
		Overviews []json.RawMessage `json:"overviews"`
	} `json:"bands"`
	STAC map[string]json.RawMessage `json:"stac"`
}

// Inspect reads the raster's header with `gdalinfo -json`.
func Inspect(ctx context.Context, path string) (Info, error) {
	if err := Available(); err != nil {
		return Info{}, err
	}
	out, err := run(ctx, "gdalinfo", "-json", "-norat", "-noct", path)
	if err != nil {
		return Info{}, fmt.Errorf("inspect %s: %w: %v", filepath.Base(path), ErrNotRaster, err)
	}
	var g gdalInfo
	if err := json.Unmarshal(out, &g); err != nil {
		return Info{}, fmt.Errorf("inspect %s: gdalinfo output: %w", filepath.Base(path), err)
	}
	in := Info{Driver: g.Driver, Width: g.Size[0], Height: g.Size[1]}
	if in.Width <= 0 || in.Height <= 0 || len(g.Bands) == 0 {
		return Info{}, fmt.Errorf("inspect %s: %w: %dx%d pixels, %d bands", filepath.Base(path), ErrNotRaster, in.Width, in.Height, len(g.Bands))
	}
	for i, b := range g.Bands {
		in.BandTypes = append(in.BandTypes, b.Type)
		if strings.EqualFold(b.Color, "Alpha") && in.Alpha == 0 {
			in.Alpha = i + 1
		}
		if i == 0 {
			in.Tiled = b.Block[0] < in.Width && b.Block[1] > 1 && b.Block[0] == b.Block[1]
			in.Overviews = len(b.Overviews)
		}
	}
	colour := len(g.Bands)
	if in.Alpha > 0 {
		colour--
	}
	if colour >= 3 {
		in.RGB = [3]int{1, 2, 3}
	} else {
		in.RGB = [3]int{1, 1, 1}
	}
	if is := g.Metadata["IMAGE_STRUCTURE"]; is != nil {
		in.Compression = is["COMPRESSION"]
	}
	if len(g.GeoT) == 6 && !(g.GeoT[0] == 0 && g.GeoT[1] == 1 && g.GeoT[3] == 0 && g.GeoT[5] == 1) {
		r := &wire.GeoRef{}
		copy(r.Transform[:], g.GeoT)
		var epsg int
		if raw, ok := g.STAC["proj:epsg"]; ok {
			_ = json.Unmarshal(raw, &epsg)
		}
		switch {
		case epsg > 0:
			r.CRS = fmt.Sprintf("EPSG:%d", epsg)
		case g.CoordSys != nil:
			r.CRS = g.CoordSys.WKT
		}
		in.GeoRef = r
	}
	if f, err := os.Open(path); err == nil {
		var h [4]byte
		if _, err := f.Read(h[:]); err == nil {
			in.BigTIFF = IsBigTIFF(h[:])
		}
		f.Close()
	}
	return in, nil
}

// IsTIFF reports whether header, the first bytes of a file, starts like a
// TIFF or a BigTIFF (either byte order).
func IsTIFF(header []byte) bool {
	if len(header) < 4 {
		return false
	}
	switch string(header[:4]) {
	case "II*\x00", "MM\x00*":
		return true
	}
	return IsBigTIFF(header)
}

// IsBigTIFF reports whether header starts like a BigTIFF.
func IsBigTIFF(header []byte) bool {
	if len(header) < 4 {
		return false
	}
	switch string(header[:4]) {
	case "II+\x00", "MM\x00+":
		return true
	}
	return false
}

// ReadWindow reads the source window src of the raster (in its pixels)
// resampled to outW x outH pixels (averaging when shrinking, bilinear when
// growing) as RGBA: the RGB bands, and the alpha band when there is one
// (else opaque). Only 8-bit (Byte) bands are read.
func ReadWindow(ctx context.Context, path string, in Info, src image.Rectangle, outW, outH int) (*image.RGBA, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if !src.In(image.Rect(0, 0, in.Width, in.Height)) || src.Empty() || outW <= 0 || outH <= 0 {
		return nil, fmt.Errorf("read window %v of a %dx%d raster into %dx%d: out of range", src, in.Width, in.Height, outW, outH)
	}
	bands := []int{in.RGB[0], in.RGB[1], in.RGB[2]}
	if in.Alpha > 0 {
		bands = append(bands, in.Alpha)
	}
	for _, b := range bands {
		if t := in.BandTypes[b-1]; t != "Byte" {
			return nil, fmt.Errorf("band %d is %s: only 8-bit (Byte) rasters are counted", b, t)
		}
	}
	dir, err := os.MkdirTemp("", "canopy-window-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "w.raw")
	resample := "average"
	if outW > src.Dx() || outH > src.Dy() {
		resample = "bilinear"
	}
	args := []string{"-q", "-of", "ENVI", "-co", "INTERLEAVE=BIP"}
	for _, b := range bands {
		args = append(args, "-b", fmt.Sprint(b))
	}
	args = append(args, "-srcwin", fmt.Sprint(src.Min.X), fmt.Sprint(src.Min.Y), fmt.Sprint(src.Dx()), fmt.Sprint(src.Dy()),
		"-outsize", fmt.Sprint(outW), fmt.Sprint(outH), "-r", resample, path, out)
	if _, err := run(ctx, "gdal_translate", args...); err != nil {
		return nil, fmt.Errorf("read window %v of %s: %w", src, filepath.Base(path), err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("read window %v of %s: %w", src, filepath.Base(path), err)
	}
	nb := len(bands)
	if len(raw) != outW*outH*nb {
		return nil, fmt.Errorf("read window %v of %s: %d bytes, want %d", src, filepath.Base(path), len(raw), outW*outH*nb)
	}
	img := image.NewRGBA(image.Rect(0, 0, outW, outH))
	for i, j := 0, 0; i < len(raw); i, j = i+nb, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = raw[i], raw[i+1], raw[i+2], 255
		if nb == 4 {
			img.Pix[j+3] = raw[i+3]
		}
	}
	return img, nil
}

// run runs a GDAL tool with a small block cache and no side-car files,
// and returns its standard output; a failure carries its standard error.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "GDAL_CACHEMAX=64", "GDAL_PAM_ENABLED=NO")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 400 {
			msg = msg[:400] + "..."
		}
		if msg == "" {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return stdout.Bytes(), nil
}
