package rgba

import (
	"image"
	"sync"
)

// DefaultPoolSize is how many free buffers a Pool keeps when its Size is 0.
const DefaultPoolSize = 4

// Pool keeps a few free frame buffers for reuse. Get returns a buffer of
// the size asked for, reusing a free one of that size; Put gives a buffer
// back once nothing reads it any more. Buffers of another size are
// dropped, so a source whose frame size changes costs one allocation per
// frame until the free list has turned over. The zero Pool is ready to use.
type Pool struct {
	// Size bounds the free list (0: DefaultPoolSize).
	Size int

	mu   sync.Mutex
	free []*image.RGBA
}

// Get returns a w x h buffer at the origin with a tight stride. Its pixels
// hold whatever the last frame left there.
func (p *Pool) Get(w, h int) *image.RGBA {
	p.mu.Lock()
	for i := len(p.free) - 1; i >= 0; i-- {
		if img := p.free[i]; Fits(img, w, h) {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.mu.Unlock()
			return img
		}
	}
	p.mu.Unlock()
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

// Put gives img back. The caller must not use img afterwards. Putting nil
// does nothing.
func (p *Pool) Put(img *image.RGBA) {
	if img == nil {
		return
	}
	n := p.Size
	if n <= 0 {
		n = DefaultPoolSize
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) >= n {
		p.free = p.free[1:] // the oldest goes to the garbage collector
	}
	p.free = append(p.free, img)
}
