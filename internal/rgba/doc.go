// Package rgba gives every part of Canopy one way to turn a decoded image
// into the *image.RGBA that segmenters and counters read (Of, Into), and a
// small pool of frame buffers (Pool) so that a capture loop reuses the same
// few buffers instead of allocating a frame's worth of pixels per frame.
//
// Of and Into hold no state and are safe to call concurrently; a Pool is
// safe for concurrent use.
package rgba
