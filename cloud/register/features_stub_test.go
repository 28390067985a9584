//go:build !opencv

package register

import (
	"errors"
	"image"
	"testing"
)

// Without OpenCV registration says so, and every pair carries the reason.
func TestUnavailable(t *testing.T) {
	if err := Available(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Available: %v", err)
	}
	if _, err := Extract(image.NewRGBA(image.Rect(0, 0, 8, 8)), 1, Options{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Extract: %v", err)
	}
	if p := Match(&Features{}, &Features{}, nil, Options{}); p.OK || p.Reason != ErrUnavailable.Error() {
		t.Errorf("Match: %+v", p)
	}
}
