package db

import (
	"context"
	"database/sql"
	"fmt"
)

// Purged counts the rows PurgeDevice deleted.
type Purged struct {
	Images       int `json:"images"`        // with their counts, kept counts and jobs
	Counts       int `json:"counts"`        // counts, kept ones included
	Scans        int `json:"scans"`         // scans left with no image
	StagedChunks int `json:"staged_chunks"` // chunks of its items not yet complete
	Device       int `json:"device"`        // its devices row (0 or 1)
	Credential   int `json:"credential"`    // its identity (0 or 1)
	Tokens       int `json:"tokens"`        // API tokens bound to it
	Desired      int `json:"desired"`       // its desired document, reported state, rollout entries and deliveries
}

// EachDeviceObjectRef is EachObjectRef for the images of one device.
func (d *DB) EachDeviceObjectRef(ctx context.Context, device string, fn func(ObjectRef) error) error {
	if err := ValidDevice(device); err != nil {
		return fmt.Errorf("objects of device: %w", err)
	}
	return d.eachObjectRef(ctx, device, fn)
}

// PurgeDevice deletes every row of a device in one transaction: its
// images with their counts, kept counts and jobs, the scans that no image
// is left in, its staged chunks, its devices row, its identity, the API
// tokens bound to it, and its desired and reported state; the scans it
// shares with other devices are marked to be registered again. Its objects must be deleted first (package retain
// does both, in that order); purging a device that has no rows is not an
// error.
func (d *DB) PurgeDevice(ctx context.Context, device string) (Purged, error) {
	if err := ValidDevice(device); err != nil {
		return Purged{}, fmt.Errorf("purge device: %w", err)
	}
	var p Purged
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, d.rebind(`SELECT
			(SELECT COUNT(*) FROM counts c JOIN images i ON i.item_id = c.item_id WHERE i.device = ?) +
			(SELECT COUNT(*) FROM count_history c JOIN images i ON i.item_id = c.item_id WHERE i.device = ?)`), device, device).
			Scan(&p.Counts); err != nil {
			return err
		}
		// The scans it shares with other devices are registered again
		// without its photos (their mosaics are drawn again).
		t := d.ts(now())
		if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE scan_registrations SET dirty_seq = dirty_seq + 1,
			dirty_since = CASE WHEN dirty_seq > done_seq THEN dirty_since ELSE ? END, attempts = 0
			WHERE scan_id IN (SELECT scan_id FROM images WHERE device = ?)`), t, device); err != nil {
			return fmt.Errorf("mark its scans changed: %w", err)
		}
		steps := []struct {
			n *int
			q string
		}{
			{&p.Images, `DELETE FROM images WHERE device = ?`}, // cascades to counts, count_history, jobs
			{&p.Scans, `DELETE FROM scans WHERE scan_id NOT IN (SELECT scan_id FROM images)`},
			{&p.StagedChunks, `DELETE FROM staged_chunks WHERE device = ?`},
			{&p.Device, `DELETE FROM devices WHERE id = ?`},
			{&p.Credential, `DELETE FROM credentials WHERE username = ? AND role = 'device'`},
			{&p.Tokens, `DELETE FROM tokens WHERE device = ?`},
			{&p.Desired, `DELETE FROM desired_docs WHERE device = ?`},
			{&p.Desired, `DELETE FROM device_reported WHERE device = ?`},
			{&p.Desired, `DELETE FROM rollout_devices WHERE device = ?`},
			{&p.Desired, `DELETE FROM artifact_deliveries WHERE device = ?`},
		}
		for _, s := range steps {
			var args []any
			if s.n != &p.Scans {
				args = []any{device}
			}
			res, err := tx.ExecContext(ctx, d.rebind(s.q), args...)
			if err != nil {
				return fmt.Errorf("%s: %w", s.q, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			*s.n += int(n)
		}
		return nil
	})
	if err != nil {
		return Purged{}, fmt.Errorf("purge device %q: %w", device, err)
	}
	return p, nil
}
