package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RawExpired returns up to limit images received before before whose raw
// image is still kept and whose counting is over (counted, or failed for
// good), oldest first: what retention deletes next. An image waiting for
// its count keeps its raw image until it is counted.
func (d *DB) RawExpired(ctx context.Context, before time.Time, limit int) ([]Image, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	imgs, err := d.queryImages(ctx, `SELECT `+imageCols+imageFrom+` WHERE i.raw_deleted_at IS NULL AND i.received_at < ?
		AND i.raw_key <> '' AND i.state IN ('counted', 'failed') ORDER BY i.received_at, i.item_id LIMIT `+fmt.Sprint(limit), d.ts(before))
	if err != nil {
		return nil, fmt.Errorf("images with raw images to delete: %w", err)
	}
	return imgs, nil
}

// MarkRawDeleted records that the image's raw objects were deleted at at.
// ErrNotFound for an unknown image; marking again keeps the first time.
func (d *DB) MarkRawDeleted(ctx context.Context, itemID string, at time.Time) error {
	res, err := d.sql.ExecContext(ctx, d.rebind(`UPDATE images SET raw_deleted_at = COALESCE(raw_deleted_at, ?) WHERE item_id = ?`), d.ts(at), itemID)
	if err != nil {
		return fmt.Errorf("mark raw of %q deleted: %w", itemID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mark raw of %q deleted: %w", itemID, err)
	} else if n == 0 {
		return fmt.Errorf("mark raw of %q deleted: %w", itemID, ErrNotFound)
	}
	return nil
}

// Object buckets, as ObjectRef names them (the names of package blob,
// repeated so that the database does not import it).
const (
	BucketRaw       = "raw"
	BucketProcessed = "processed"
)

// ObjectRef is an object that a row names.
type ObjectRef struct {
	Bucket, Key string
	ItemID      string // the image it belongs to ("" for a scan's mosaic)
}

// EachObjectRef calls fn with every object the rows name: each image's
// raw image (unless retention deleted it) and device mask, and the
// annotated image and mask of each of its counts, those kept in the count
// history included, its registration's keypoints and view, and each
// registered scan's mosaic (plain and with the trees). It stops at fn's first error and returns it. fn must
// not use d (on SQLite the one connection is busy reading).
func (d *DB) EachObjectRef(ctx context.Context, fn func(ObjectRef) error) error {
	return d.eachObjectRef(ctx, "", fn)
}

// eachObjectRef is EachObjectRef for the images of one device ("": all),
// with the mosaics of the scans that only its images are in.
func (d *DB) eachObjectRef(ctx context.Context, device string, fn func(ObjectRef) error) error {
	where, args := "", []any{}
	if device != "" {
		where, args = " AND i.device = ?", []any{device, device, device}
	}
	// The mosaics first: fn must not use d, and these rows are few.
	mosaics, err := d.mosaicRefs(ctx, device)
	if err != nil {
		return err
	}
	for _, r := range mosaics {
		if err := fn(r); err != nil {
			return err
		}
	}
	rows, err := d.sql.QueryContext(ctx, d.rebind(`
		SELECT 'raw', i.raw_key, i.item_id FROM images i WHERE i.raw_key <> '' AND i.raw_deleted_at IS NULL`+where+`
		UNION ALL SELECT 'raw', i.mask_key, i.item_id FROM images i WHERE i.mask_key <> ''`+where+`
		UNION ALL SELECT 'processed', k.key, k.item_id FROM (
			SELECT item_id, annotated_key AS key FROM counts UNION ALL SELECT item_id, mask_key FROM counts
			UNION ALL SELECT item_id, annotated_key FROM count_history UNION ALL SELECT item_id, mask_key FROM count_history
			UNION ALL SELECT item_id, features_key FROM registration_photos UNION ALL SELECT item_id, view_key FROM registration_photos
		) k JOIN images i ON i.item_id = k.item_id WHERE k.key <> ''`+where), args...)
	if err != nil {
		return fmt.Errorf("object references: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ObjectRef
		if err := rows.Scan(&r.Bucket, &r.Key, &r.ItemID); err != nil {
			return fmt.Errorf("object references: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("object references: %w", err)
	}
	return nil
}

// mosaicRefs are the mosaic objects of the registered scans (device "":
// all), or of the scans that only device's images are in.
func (d *DB) mosaicRefs(ctx context.Context, device string) ([]ObjectRef, error) {
	q, args := `SELECT mosaic FROM scan_registrations WHERE mosaic <> ''`, []any{}
	if device != "" {
		q += ` AND scan_id IN (SELECT scan_id FROM images WHERE device = ?)
			AND scan_id NOT IN (SELECT scan_id FROM images WHERE device <> ?)`
		args = []any{device, device}
	}
	rows, err := d.sql.QueryContext(ctx, d.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("mosaic references: %w", err)
	}
	defer rows.Close()
	var out []ObjectRef
	for rows.Next() {
		var js string
		if err := rows.Scan(&js); err != nil {
			return nil, fmt.Errorf("mosaic references: %w", err)
		}
		var m MosaicInfo
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			return nil, fmt.Errorf("mosaic references: %w", err)
		}
		for _, k := range []string{m.Key, m.PlainKey} {
			if k != "" {
				out = append(out, ObjectRef{Bucket: BucketProcessed, Key: k})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mosaic references: %w", err)
	}
	return out, nil
}

// ModelInUse reports whether a count job, a count or a kept count names
// the model with this SHA-256 (its object at processed/models/ is needed).
func (d *DB) ModelInUse(ctx context.Context, sha256 string) (bool, error) {
	var one int
	err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT 1 FROM jobs WHERE model_sha256 = ?
		UNION ALL SELECT 1 FROM counts WHERE model_sha256 = ? UNION ALL SELECT 1 FROM count_history WHERE model_sha256 = ? LIMIT 1`),
		sha256, sha256, sha256).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("model %s in use: %w", sha256, err)
	}
	return true, nil
}
