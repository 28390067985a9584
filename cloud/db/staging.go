package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// StagedChunk is one chunk frame of a multi-chunk item, staged by a
// receiver that could not finish the item itself (see cloud/ingest).
type StagedChunk struct {
	Device, ItemID string
	Chunk          int    // index of the chunk
	Chunks         int    // the item's number of chunks
	Frame          []byte // the whole frame, header included
}

// StageChunks stages the chunks of one item (all of cs name the same device
// and item) and reports how many distinct chunks of that item are staged
// now, counting those staged by other receivers. A chunk staged before is
// left as it is (its copy is a redelivery). The count is taken after the
// commit, so of several receivers staging the last chunks of an item at the
// same time, the last to commit sees them all.
func (d *DB) StageChunks(ctx context.Context, cs []StagedChunk) (staged int, err error) {
	if len(cs) == 0 {
		return 0, nil
	}
	dev, id := cs[0].Device, cs[0].ItemID
	t := d.ts(now())
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		q := d.rebind(`INSERT INTO staged_chunks (device, item_id, chunk, chunks, frame, received_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device, item_id, chunk) DO NOTHING`)
		for _, c := range cs {
			if c.Device != dev || c.ItemID != id {
				return fmt.Errorf("%w: chunks of %s/%s and %s/%s in one call", ErrInvalid, dev, id, c.Device, c.ItemID)
			}
			if _, err := tx.ExecContext(ctx, q, c.Device, c.ItemID, c.Chunk, c.Chunks, c.Frame, t); err != nil {
				return fmt.Errorf("insert chunk %d: %w", c.Chunk, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("stage chunks of %s/%s: %w", dev, id, err)
	}
	if err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT COUNT(*) FROM staged_chunks WHERE device = ? AND item_id = ?`),
		dev, id).Scan(&staged); err != nil {
		return 0, fmt.Errorf("count staged chunks of %s/%s: %w", dev, id, err)
	}
	return staged, nil
}

// TakeStaged removes the staged chunks of an item and returns them in chunk
// order. Of receivers taking the same item at once, one gets the chunks and
// the others get none (or only copies staged after the first took them).
func (d *DB) TakeStaged(ctx context.Context, device, itemID string) ([]StagedChunk, error) {
	rows, err := d.sql.QueryContext(ctx, d.rebind(`DELETE FROM staged_chunks WHERE device = ? AND item_id = ?
		RETURNING chunk, chunks, frame`), device, itemID)
	if err != nil {
		return nil, fmt.Errorf("take staged chunks of %s/%s: %w", device, itemID, err)
	}
	defer rows.Close()
	var out []StagedChunk
	for rows.Next() {
		c := StagedChunk{Device: device, ItemID: itemID}
		if err := rows.Scan(&c.Chunk, &c.Chunks, &c.Frame); err != nil {
			return nil, fmt.Errorf("take staged chunks of %s/%s: %w", device, itemID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take staged chunks of %s/%s: %w", device, itemID, err)
	}
	sortChunks(out)
	return out, nil
}

func sortChunks(cs []StagedChunk) {
	for i := 1; i < len(cs); i++ { // insertion sort: a few chunks, mostly in order
		for j := i; j > 0 && cs[j].Chunk < cs[j-1].Chunk; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// ExpireStaged removes the chunks staged before before (items whose other
// chunks never came: the device sends the item again) and returns how many
// it removed.
func (d *DB) ExpireStaged(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.sql.ExecContext(ctx, d.rebind(`DELETE FROM staged_chunks WHERE received_at < ?`), d.ts(before))
	if err != nil {
		return 0, fmt.Errorf("expire staged chunks: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("expire staged chunks: %w", err)
	}
	return n, nil
}

// StagedStats are the chunks staged now.
type StagedStats struct {
	Items  int   // distinct items with staged chunks
	Chunks int   // staged chunks
	Bytes  int64 // their frame bytes
}

// Staged returns what is staged now.
func (d *DB) Staged(ctx context.Context) (StagedStats, error) {
	var s StagedStats
	var b sql.NullInt64
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(DISTINCT device || '/' || item_id), COUNT(*), SUM(LENGTH(frame)) FROM staged_chunks`).
		Scan(&s.Items, &s.Chunks, &b)
	if err != nil {
		return StagedStats{}, fmt.Errorf("staged chunks: %w", err)
	}
	s.Bytes = b.Int64
	return s, nil
}
