package db

import "errors"

// ErrNotFound is returned when the image, scan, job or token asked for does
// not exist.
var ErrNotFound = errors.New("not found")

// ErrNoJob is returned by ClaimJob when no job is ready.
var ErrNoJob = errors.New("no job ready")

// ErrInvalid is wrapped by errors about arguments that can never succeed
// (an empty item id, a bad device id, an unknown scope): retrying is useless.
var ErrInvalid = errors.New("invalid argument")

// ErrExists is returned when what is being added is there already (a
// credential whose username is taken).
var ErrExists = errors.New("already exists")
