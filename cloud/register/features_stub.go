//go:build !opencv

package register

import "image"

// Available reports whether this build registers photos (nil), or why not.
func Available() error { return ErrUnavailable }

// Extract returns ErrUnavailable.
func Extract(view *image.RGBA, scale float64, o Options) (*Features, error) {
	return nil, ErrUnavailable
}

// Match returns a rejected pair whose reason is ErrUnavailable.
func Match(a, b *Features, guide *Guide, o Options) Pair { return Pair{Reason: ErrUnavailable.Error()} }
