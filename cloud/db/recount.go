package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecountQuery selects the images to count again and the counter to count
// them with. One of ScanID and Since is required.
type RecountQuery struct {
	ScanID string
	Since  time.Time // captured at or after
	// Method and ModelSHA256 name the counter (Job.Method, Job.ModelSHA256);
	// both "": the workers' own.
	Method      string
	ModelSHA256 string
}

// Recounted says what QueueRecount did with the images it selected.
type Recounted struct {
	Queued int `json:"queued"` // their count jobs are queued again
	// Busy images have a job queued or running already: not queued again
	// (their count will come from the counter that job runs with).
	Busy int `json:"busy"`
	// RawDeleted images have no raw image left (retention): nothing to count.
	RawDeleted int `json:"raw_deleted"`
	// Evicted images never had one (their device evicted it).
	Evicted int `json:"evicted"`
}

// QueueRecount queues the count jobs of the images q selects again, each
// asking for q's counter, in one transaction: their current counts stay
// until the new ones replace them (and then stay in the count history); a
// failed image goes back to "stored". ErrInvalid without a scan or a time.
func (d *DB) QueueRecount(ctx context.Context, q RecountQuery) (Recounted, error) {
	if q.ScanID == "" && q.Since.IsZero() {
		return Recounted{}, fmt.Errorf("recount: %w: give a scan or a time", ErrInvalid)
	}
	var f filter
	d.scanOrSince(&f, q.ScanID, q.Since)
	sel, args := f.and(), f.args
	var r Recounted
	t := now()
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, d.rebind(`SELECT
			COALESCE(SUM(CASE WHEN i.state = 'image_evicted' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN i.state <> 'image_evicted' AND i.raw_deleted_at IS NOT NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN i.raw_deleted_at IS NULL AND j.state IN ('queued', 'running') THEN 1 ELSE 0 END), 0)
			FROM images i LEFT JOIN jobs j ON j.item_id = i.item_id WHERE `+sel), args...).
			Scan(&r.Evicted, &r.RawDeleted, &r.Busy); err != nil {
			return err
		}
		ready := `SELECT i.item_id FROM images i WHERE ` + sel + ` AND i.raw_deleted_at IS NULL AND i.state <> 'image_evicted'`
		res, err := tx.ExecContext(ctx, d.rebind(`UPDATE jobs SET state = 'queued', attempts = 0, lease_until = ?, worker = '',
			last_error = '', method = ?, model_sha256 = ?, updated_at = ?
			WHERE state IN ('done', 'failed') AND item_id IN (`+ready+`)`),
			append([]any{d.ts(t), q.Method, q.ModelSHA256, d.ts(t)}, args...)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		r.Queued = int(n)
		_, err = tx.ExecContext(ctx, d.rebind(`UPDATE images SET state = 'stored' WHERE state = 'failed' AND item_id IN (`+ready+`)`), args...)
		return err
	})
	if err != nil {
		return Recounted{}, fmt.Errorf("recount: %w", err)
	}
	return r, nil
}
