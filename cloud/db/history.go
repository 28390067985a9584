package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// countCols are the columns of counts and count_history alike.
const countCols = `item_id, count, boxes, method, model, model_sha256, annotated_key, mask_key, counted_at,
	gsd_m, gsd_source, positions, position_note, footprint`

// keepCount copies the image's count, if it has one, into its count
// history, in tx, before a new count replaces it.
func (d *DB) keepCount(ctx context.Context, tx *sql.Tx, item string) error {
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO count_history (`+countCols+`)
		SELECT `+countCols+` FROM counts WHERE item_id = ?`), item); err != nil {
		return fmt.Errorf("keep the earlier count: %w", err)
	}
	return nil
}

// modelWhere is the condition that a count was made by model: its SHA-256
// begins with model (6 to 64 hex digits), or its model name or its method
// is model.
func modelWhere(model string) (string, []any) {
	if isHexPrefix(model) {
		return `(model_sha256 LIKE ? OR model = ? OR method = ?)`, []any{strings.ToLower(model) + "%", model, model}
	}
	return `(model = ? OR method = ?)`, []any{model, model}
}

func isHexPrefix(s string) bool {
	if len(s) < 6 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// modelCounts is a subquery of every count (the newest and the kept ones)
// made by model, and its arguments.
func modelCounts(model string) (string, []any) {
	w, a := modelWhere(model)
	return `(SELECT ` + countCols + ` FROM counts WHERE ` + w + ` UNION ALL SELECT ` + countCols + ` FROM count_history WHERE ` + w + `)`,
		append(append([]any{}, a...), a...)
}

// ValidModel reports why model cannot select counts (ImageCounts,
// GetImageByModel, EachScanImageByModel), or nil: 1..128 bytes without
// control characters.
func ValidModel(model string) error { return validID("model", model) }

// GetImageByModel is GetImage with the newest count made by model (see
// modelWhere: a SHA-256 prefix, a model name or a method) instead of the
// newest count; the image's Count is nil when model made none.
func (d *DB) GetImageByModel(ctx context.Context, itemID, model string) (Image, error) {
	if err := ValidModel(model); err != nil {
		return Image{}, fmt.Errorf("get image %q: %w", itemID, err)
	}
	sub, args := modelCounts(model)
	return getImage(d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+imageCols+` FROM images i LEFT JOIN `+sub+` c ON c.item_id = i.item_id
		WHERE i.item_id = ? ORDER BY c.counted_at DESC LIMIT 1`), append(args, itemID)...), itemID)
}

// EachScanImageByModel is EachScanImage with each image's newest count
// made by model (nil when model made none) instead of its newest count.
func (d *DB) EachScanImageByModel(ctx context.Context, scanID, model string, fn func(Image) error) error {
	if err := ValidModel(model); err != nil {
		return fmt.Errorf("scan %q images: %w", scanID, err)
	}
	sub, args := modelCounts(model)
	rows, err := d.sql.QueryContext(ctx, d.rebind(`SELECT `+imageCols+` FROM images i LEFT JOIN `+sub+` c ON c.item_id = i.item_id
		WHERE i.scan_id = ? ORDER BY i.captured_at, i.item_id, c.counted_at DESC`), append(args, scanID)...)
	if err != nil {
		return fmt.Errorf("scan %q images: %w", scanID, err)
	}
	defer rows.Close()
	last := ""
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			return fmt.Errorf("scan %q images: %w", scanID, err)
		}
		if img.ItemID == last {
			continue // an older count by the same model
		}
		last = img.ItemID
		if err := fn(img); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan %q images: %w", scanID, err)
	}
	return nil
}

// ImageCounts returns every count of an image: the newest first, then the
// ones it replaced, newest first. ErrNotFound for an unknown image.
func (d *DB) ImageCounts(ctx context.Context, itemID string) ([]CountRecord, error) {
	if ok, err := d.HasImage(ctx, itemID); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("counts of %q: %w", itemID, ErrNotFound)
	}
	// Each count as the count of an image row: scanImage reads it.
	rows, err := d.sql.QueryContext(ctx, d.rebind(`SELECT `+imageCols+` FROM images i JOIN (
		SELECT 0 AS kept, `+countCols+` FROM counts WHERE item_id = ?
		UNION ALL SELECT 1 AS kept, `+countCols+` FROM count_history WHERE item_id = ?) c ON c.item_id = i.item_id
		ORDER BY c.kept, c.counted_at DESC`), itemID, itemID)
	if err != nil {
		return nil, fmt.Errorf("counts of %q: %w", itemID, err)
	}
	defer rows.Close()
	out := []CountRecord{}
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			return nil, fmt.Errorf("counts of %q: %w", itemID, err)
		}
		out = append(out, *img.Count)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counts of %q: %w", itemID, err)
	}
	return out, nil
}
