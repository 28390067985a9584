package db

import (
	"context"
	"errors"
	"time"
)

var errTODO = errors.New("not implemented yet")

// PutImage stores img unless an image with its item id exists: in one
// transaction it upserts the device (last seen) and the scan, inserts the
// image in state "stored" and queues its count job. created is false for a
// duplicate, which changes nothing.
func (d *DB) PutImage(ctx context.Context, img Image) (created bool, err error) {
	return false, errTODO
}

// GetImage returns the image with its count, if counted; ErrNotFound.
func (d *DB) GetImage(ctx context.Context, itemID string) (Image, error) {
	return Image{}, errTODO
}

// ListImages returns a page of images, newest capture first, and the cursor
// of the next page ("" after the last).
func (d *DB) ListImages(ctx context.Context, q ImageQuery) ([]Image, string, error) {
	return nil, "", errTODO
}

// GetScan returns a scan with its images and their total of trees.
func (d *DB) GetScan(ctx context.Context, scanID string) (Scan, error) {
	return Scan{}, errTODO
}

// UpdateDevice records a device's status.
func (d *DB) UpdateDevice(ctx context.Context, s DeviceStatus) error { return errTODO }

// ListDevices returns every device, by id.
func (d *DB) ListDevices(ctx context.Context) ([]Device, error) { return nil, errTODO }

// HasRawKey reports whether an image row names key as its raw or mask key.
func (d *DB) HasRawKey(ctx context.Context, key string) (bool, error) { return false, errTODO }

// ClaimJob leases the oldest ready job to worker for lease; ErrNoJob.
func (d *DB) ClaimJob(ctx context.Context, worker string, lease time.Duration) (Job, error) {
	return Job{}, errTODO
}

// CompleteJob saves the count, marks the image counted and the job done.
func (d *DB) CompleteJob(ctx context.Context, jobID int64, c CountRecord) error { return errTODO }

// FailJob records a failed attempt.
func (d *DB) FailJob(ctx context.Context, jobID int64, reason string) error { return errTODO }

// CreateToken stores a token.
func (d *DB) CreateToken(ctx context.Context, t Token) error { return errTODO }

// LookupToken finds a token by hash; ErrNotFound.
func (d *DB) LookupToken(ctx context.Context, hash string) (Token, error) { return Token{}, errTODO }
