package blob

import "errors"

// ErrNotFound is returned by Get when the object does not exist.
var ErrNotFound = errors.New("object not found")

// ErrInvalidKey is returned for a key that could escape its bucket or that
// an S3 server would treat differently from a folder: empty, absolute, with
// "." or ".." elements, NUL, backslashes or control characters.
var ErrInvalidKey = errors.New("invalid object key")

// ErrInvalidBucket is returned for a bucket name outside [a-z0-9.-].
var ErrInvalidBucket = errors.New("invalid bucket name")
