// Package selection decides which frames are worth sending, so that a slow
// link carries only what counts. (The folder is not called "select": that
// is a Go keyword.)
//
// A Selector applies a Policy of three rules, each of which can be turned
// off: a minimum forest share, a minimum interval between selected frames
// (by capture time), and skipping of near-duplicates (a 64-bit difference
// hash of a 9x8 grayscale thumbnail compared with that of the last selected
// frame by Hamming distance).
//
// A Selector keeps the state of the last selected frame; it is used by one
// goroutine at a time.
package selection
