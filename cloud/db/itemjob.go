package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ImageByRawKey returns the image whose raw object (in bucket "raw") is
// key, with its count if it has one; ErrNotFound when no row names it (yet:
// the objects of an item are written before its row).
func (d *DB) ImageByRawKey(ctx context.Context, key string) (Image, error) {
	row := d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+imageCols+imageFrom+` WHERE i.raw_key = ? ORDER BY i.item_id LIMIT 1`), key)
	img, err := scanImage(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Image{}, fmt.Errorf("image with raw key %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return Image{}, fmt.Errorf("image with raw key %q: %w", key, err)
	}
	return img, nil
}

// ClaimItemJob leases the count job of one image to worker until
// now+lease, as ClaimJob does with the oldest ready job. It serves events
// that name the image (an object-created notification): a queued job is
// taken at once, even within its retry delay. claimed is false when the job
// cannot be taken, and job then says why: done, failed for good (also when
// this claim found it past its last attempt), or running under another
// worker's lease until job.LeaseUntil (or being claimed right now).
// ErrNotFound when the image has no job.
func (d *DB) ClaimItemJob(ctx context.Context, itemID, worker string, lease time.Duration) (job Job, claimed bool, err error) {
	if err := checkClaim(worker, lease); err != nil {
		return Job{}, false, fmt.Errorf("claim job of %q: %w", itemID, err)
	}
	pick := `SELECT id FROM jobs WHERE item_id = ? AND (state = 'queued' OR (state = 'running' AND lease_until < ?))`
	j, err := d.claim(ctx, worker, lease, pick, func(t time.Time) []any { return []any{itemID, d.ts(t)} })
	switch {
	case err == nil:
		return j, j.State != JobFailed, nil
	case !errors.Is(err, ErrNoJob):
		return Job{}, false, fmt.Errorf("claim job of %q: %w", itemID, err)
	}
	j, err = scanJob(d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+jobCols+` FROM jobs WHERE item_id = ?`), itemID))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, fmt.Errorf("claim job of %q: %w", itemID, ErrNotFound)
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("claim job of %q: %w", itemID, err)
	}
	return j, false, nil
}
