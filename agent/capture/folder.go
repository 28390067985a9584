package capture

import (
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for the folder source
	_ "image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "golang.org/x/image/tiff"

	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/internal/rgba"
)

// MaxPixels is the largest image a folder source decodes; a bigger one is
// skipped as if corrupt, rather than exhausting memory.
const MaxPixels = 200 << 20

// Folder reads the images of a directory in name order. Its Position is
// the file's name, so Positions sort in the order files are read.
type Folder struct {
	dir    string
	names  []string
	next   int
	last   string // the last name taken (read or skipped)
	log    *slog.Logger
	every  time.Duration
	settle time.Duration
	dec    decoder
}

// imageExts are the file name extensions a folder source reads.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".tif": true, ".tiff": true}

// OpenFolder lists dir's images (not its subfolders) and returns a source
// that reads those whose name sorts after after ("" = all).
func OpenFolder(dir, after string, log *slog.Logger) (*Folder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open folder %q: %w", dir, err)
	}
	ents, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("open folder %q: %w", dir, err)
	}
	return &Folder{dir: abs, names: listImages(ents, after), last: after, log: log}, nil
}

// listImages returns the image names after after, sorted.
func listImages(ents []os.DirEntry, after string) []string {
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !imageExts[strings.ToLower(filepath.Ext(n))] {
			continue
		}
		if after != "" && n <= after {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Follow makes the folder wait for new files instead of ending: when every
// file has been read it lists the folder again every interval. A new file
// is taken once it has not changed for settle (so that a file still being
// written is not read half-way), and only if its name sorts after the last
// one taken (cameras number their photos). interval <= 0 turns following
// off.
func (f *Folder) Follow(interval, settle time.Duration) {
	f.every, f.settle = interval, settle
}

// relist lists the names after the last one taken, stopping at the first
// file modified less than settle ago so that order is kept.
func (f *Folder) relist() error {
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		return fmt.Errorf("list folder %q: %w", f.dir, err)
	}
	names := listImages(ents, f.last)
	if f.settle > 0 {
		for i, n := range names {
			fi, err := os.Stat(filepath.Join(f.dir, n))
			if err == nil && time.Since(fi.ModTime()) < f.settle {
				names = names[:i]
				break
			}
		}
	}
	f.names, f.next = names, 0
	return nil
}

// Name returns the folder's absolute path.
func (f *Folder) Name() string { return f.dir }

// Remaining is the number of files not yet read.
func (f *Folder) Remaining() int { return len(f.names) - f.next }

// Next decodes the next readable image. A file that cannot be read or
// decoded is logged with its name and skipped. At the end it returns io.EOF.
// When following, it waits for new files instead.
func (f *Folder) Next(ctx context.Context) (Frame, error) {
	for {
		for f.next < len(f.names) {
			if err := ctx.Err(); err != nil {
				return Frame{}, err
			}
			name := f.names[f.next]
			f.next++
			f.last = name
			fr, err := readImage(filepath.Join(f.dir, name), &f.dec)
			if err != nil {
				f.log.Warn("skipping unreadable image", "file", name, "err", err)
				continue
			}
			fr.Position = name
			return fr, nil
		}
		if f.every <= 0 {
			return Frame{}, io.EOF
		}
		if err := sleep(ctx, f.every); err != nil {
			return Frame{}, err
		}
		if err := f.relist(); err != nil {
			return Frame{}, err
		}
	}
}

// Close does nothing; a folder holds no open files between frames.
func (f *Folder) Close() error { return nil }

// DecodeSize makes the folder decode a JPEG photo much larger than size at
// a reduced scale (JPEG DCT scaling: 1/2, 1/4 or 1/8, the smallest image
// still at least size, in either orientation), and take frame buffers from
// pool (nil: new ones; Frame.Release gives them back). The frame keeps the
// photo's own bytes in Frame.Encoded and its size in Frame.SourceSize.
func (f *Folder) DecodeSize(size image.Point, pool *rgba.Pool) {
	f.dec = decoder{size: size, pool: pool}
}

// ReadImageFile decodes a JPEG, PNG or TIFF file into a frame: the image,
// the EXIF time and GPS when present (else a UTC time stamp in its name,
// else the file's modification time),
// the photo's metadata (camera, DJI XMP, GeoTIFF tags) and the base name;
// a JPEG file's bytes in Encoded. It never panics on a corrupt file.
func ReadImageFile(path string) (Frame, error) { return readImage(path, &decoder{}) }

func readImage(path string, d *decoder) (Frame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Frame{}, err
	}
	dec, err := d.decode(b)
	if err != nil {
		return Frame{}, fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	fr := Frame{Image: dec.img, Name: filepath.Base(path), Clock: ClockFile}
	fr.SourceSize = dec.src
	if dec.jpeg {
		fr.Encoded = b
	}
	if d.pool != nil {
		fr.release = d.pool.Put
	}
	if fi, err := os.Stat(path); err == nil {
		fr.Time = fi.ModTime()
	}
	m := photo.Read(b)
	if !m.Time.IsZero() {
		fr.Time, fr.Clock = m.Time, ClockEXIF
	} else if t, ok := NameTime(fr.Name); ok {
		fr.Time, fr.Clock = t, ClockName
	}
	fr.GPS, fr.Photo = m.GPS, &m
	return fr, nil
}

// DecodeImage decodes JPEG, PNG or TIFF bytes at full size into an
// *image.RGBA whose bounds start at (0, 0). Images over MaxPixels are
// refused before their pixels are decoded; a decoder panic is returned as
// an error.
func DecodeImage(b []byte) (*image.RGBA, error) {
	d, err := (&decoder{}).decode(b)
	return d.img, err
}
