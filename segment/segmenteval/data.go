package segmenteval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // NEON plots in neon_ttv
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/canopy-forest/canopy/internal/rgba"
)

func decodeFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return m, nil
}

// Treecover is the real tree-cover tile and its mask.
type Treecover struct {
	Name  string
	Frame *image.RGBA
	Truth *image.Gray // non-zero: tree or canopy
	Valid *image.Gray // non-zero: not the white no-data fill
}

// LoadTreecover reads dir/<name>.png and dir/<name>_mask.png for the first
// such pair in dir (../shared/data/treecover).
func LoadTreecover(dir string) (Treecover, error) {
	masks, _ := filepath.Glob(filepath.Join(dir, "*_mask.png"))
	if len(masks) == 0 {
		return Treecover{}, fmt.Errorf("load treecover: no *_mask.png in %s", dir)
	}
	sort.Strings(masks)
	mp := masks[0]
	ip := mp[:len(mp)-len("_mask.png")] + ".png"
	im, err := decodeFile(ip)
	if err != nil {
		return Treecover{}, fmt.Errorf("load treecover: %w", err)
	}
	f, err := os.Open(mp)
	if err != nil {
		return Treecover{}, fmt.Errorf("load treecover: %w", err)
	}
	defer f.Close()
	mm, err := png.Decode(f)
	if err != nil {
		return Treecover{}, fmt.Errorf("load treecover: decode %s: %w", mp, err)
	}
	frame := rgba.Of(im)
	b := frame.Bounds()
	if mm.Bounds().Dx() != b.Dx() || mm.Bounds().Dy() != b.Dy() {
		return Treecover{}, fmt.Errorf("load treecover: mask %v and image %v differ in size", mm.Bounds(), b)
	}
	truth, valid := image.NewGray(b), image.NewGray(b)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, _, _, _ := mm.At(mm.Bounds().Min.X+x, mm.Bounds().Min.Y+y).RGBA()
			if r != 0 {
				truth.Pix[y*truth.Stride+x] = 1
			}
			o := y*frame.Stride + 4*x
			if !(frame.Pix[o] == 255 && frame.Pix[o+1] == 255 && frame.Pix[o+2] == 255) {
				valid.Pix[y*valid.Stride+x] = 1
			}
		}
	}
	return Treecover{Name: filepath.Base(ip), Frame: frame, Truth: truth, Valid: valid}, nil
}

// Box is a crown box in pixels.
type Box struct{ XMin, YMin, XMax, YMax float64 }

// EllipseMask returns a w x h mask with 1 inside the ellipse inscribed in
// each box (pixel centres), the weak label used to train treecover-seg.
func EllipseMask(w, h int, boxes []Box) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for _, b := range boxes {
		cx, cy := (b.XMin+b.XMax)/2, (b.YMin+b.YMax)/2
		rx, ry := (b.XMax-b.XMin)/2, (b.YMax-b.YMin)/2
		if rx <= 0 || ry <= 0 {
			continue
		}
		for y := max(0, int(b.YMin)); y < min(h, int(b.YMax)+1); y++ {
			dy := (float64(y) + 0.5 - cy) / ry
			for x := max(0, int(b.XMin)); x < min(w, int(b.XMax)+1); x++ {
				dx := (float64(x) + 0.5 - cx) / rx
				if dx*dx+dy*dy <= 1 {
					m.Pix[y*m.Stride+x] = 1
				}
			}
		}
	}
	return m
}

// Plot is a NEON plot with its weak label.
type Plot struct {
	Name, Site string
	Frame      *image.RGBA
	Truth      *image.Gray
}

// LoadPlots reads the plots of the given sites from dir/neon_hist and
// dir/neon_ttv (../shared/data/train), each with its ellipse weak label.
func LoadPlots(dir string, sites map[string]bool) ([]Plot, error) {
	var plots []Plot
	for _, sub := range []string{"neon_hist", "neon_ttv"} {
		folder := filepath.Join(dir, sub)
		imgs, err := readCSV(filepath.Join(folder, "images.csv"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load plots: %w", err)
		}
		ann, err := readCSV(filepath.Join(folder, "annotations.csv"))
		if err != nil {
			return nil, fmt.Errorf("load plots: %w", err)
		}
		boxes := map[string][]Box{}
		for _, r := range ann {
			var v [4]float64
			for i, k := range []string{"xmin", "ymin", "xmax", "ymax"} {
				if v[i], err = strconv.ParseFloat(r[k], 64); err != nil {
					return nil, fmt.Errorf("load plots: %s: box %v: %w", sub, r, err)
				}
			}
			boxes[r["image"]] = append(boxes[r["image"]], Box{v[0], v[1], v[2], v[3]})
		}
		for _, r := range imgs {
			if !sites[r["site"]] {
				continue
			}
			im, err := decodeFile(filepath.Join(folder, "images", r["image"]))
			if err != nil {
				return nil, fmt.Errorf("load plots: %w", err)
			}
			fr := rgba.Of(im)
			plots = append(plots, Plot{Name: r["image"], Site: r["site"], Frame: fr,
				Truth: EllipseMask(fr.Bounds().Dx(), fr.Bounds().Dy(), boxes[r["image"]])})
		}
	}
	return plots, nil
}

func readCSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		m := make(map[string]string, len(head))
		for i, h := range head {
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		rows = append(rows, m)
	}
}
