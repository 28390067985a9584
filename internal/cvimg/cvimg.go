//go:build opencv

package cvimg

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// ToRGBA converts an 8-bit matrix with 1 (gray), 3 (BGR) or 4 (BGRA)
// channels to a new *image.RGBA. The matrix is not modified.
func ToRGBA(m gocv.Mat) (*image.RGBA, error) {
	if m.Empty() {
		return nil, ErrEmpty
	}
	img := image.NewRGBA(image.Rect(0, 0, m.Cols(), m.Rows()))
	if err := ToRGBAInto(m, img); err != nil {
		return nil, err
	}
	return img, nil
}

// ToRGBAInto converts m into dst, whose bounds must start at (0, 0) and
// have m's size. It lets a capture loop reuse one buffer per frame.
func ToRGBAInto(m gocv.Mat, dst *image.RGBA) error {
	if m.Empty() {
		return ErrEmpty
	}
	w, h := m.Cols(), m.Rows()
	if dst.Rect.Min != (image.Point{}) || dst.Rect.Dx() != w || dst.Rect.Dy() != h || dst.Stride != 4*w {
		return fmt.Errorf("cvimg: destination %v (stride %d) does not fit a %dx%d matrix", dst.Rect, dst.Stride, w, h)
	}
	var code gocv.ColorConversionCode
	switch m.Type() {
	case gocv.MatTypeCV8UC1:
		code = gocv.ColorGrayToBGRA // GRAY2RGBA and GRAY2BGRA are the same code
	case gocv.MatTypeCV8UC3:
		code = gocv.ColorBGRToRGBA
	case gocv.MatTypeCV8UC4:
		code = gocv.ColorBGRAToRGBA
	default:
		return fmt.Errorf("cvimg: unsupported matrix type %v", m.Type())
	}
	out := gocv.NewMat()
	defer out.Close()
	gocv.CvtColor(m, &out, code)
	b, err := out.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("cvimg: %w", err)
	}
	if len(b) != len(dst.Pix[:4*w*h]) {
		return fmt.Errorf("cvimg: converted %d bytes, want %d", len(b), 4*w*h)
	}
	copy(dst.Pix, b)
	return nil
}

// FromRGBA converts img to a new BGR matrix (CV_8UC3). The caller closes it.
func FromRGBA(img *image.RGBA) (gocv.Mat, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w == 0 || h == 0 {
		return gocv.Mat{}, ErrEmpty
	}
	pix := img.Pix
	if img.Stride != 4*w || img.Rect.Min != (image.Point{}) {
		// A sub-image: gather its rows into one tight buffer.
		pix = make([]byte, 4*w*h)
		for y := 0; y < h; y++ {
			off := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
			copy(pix[4*w*y:4*w*(y+1)], img.Pix[off:off+4*w])
		}
	} else {
		pix = pix[:4*w*h]
	}
	src, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC4, pix)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("cvimg: %w", err)
	}
	defer src.Close()
	dst := gocv.NewMat()
	gocv.CvtColor(src, &dst, gocv.ColorRGBAToBGR)
	return dst, nil
}
