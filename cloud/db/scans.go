package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Scan is a survey: the images sent under one scan id, and their trees.
type Scan struct {
	ScanID     string    `json:"scan_id"`
	AddressID  string    `json:"address_id,omitempty"`
	TreeType   string    `json:"tree_type,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at"`  // its first capture time
	EndedAt    time.Time `json:"ended_at"`    // its last
	Images     []Image   `json:"images"`      // newest first, with counts (at most MaxScanImages)
	ImageCount int       `json:"image_count"` // all images of the scan
	Counted    int       `json:"counted"`     // images with a count
	Evicted    int       `json:"evicted"`     // images evicted on the device (metadata only, never counted)
	TotalTrees int       `json:"total_trees"` // sum of their counts (cloud/api replaces it by the trees merged by position)
}

// MaxScanImages bounds the images that GetScan returns (the newest); the
// totals always cover them all.
const MaxScanImages = 1000

// GetScan returns a scan with its images (newest first, at most
// MaxScanImages) and the total of trees counted on them; ErrNotFound.
func (d *DB) GetScan(ctx context.Context, scanID string) (Scan, error) {
	s := Scan{ScanID: scanID}
	err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT address_id, tree_type, created_at, started_at, ended_at FROM scans WHERE scan_id = ?`), scanID).
		Scan(&s.AddressID, &s.TreeType, timeCol{&s.CreatedAt}, timeCol{&s.StartedAt}, timeCol{&s.EndedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return Scan{}, fmt.Errorf("get scan %q: %w", scanID, ErrNotFound)
	}
	if err != nil {
		return Scan{}, fmt.Errorf("get scan %q: %w", scanID, err)
	}
	var total, evicted sql.NullInt64
	if err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT COUNT(*), COUNT(c.item_id), SUM(c.count),
		SUM(CASE WHEN i.state = 'image_evicted' THEN 1 ELSE 0 END)
		FROM images i LEFT JOIN counts c ON c.item_id = i.item_id WHERE i.scan_id = ?`), scanID).
		Scan(&s.ImageCount, &s.Counted, &total, &evicted); err != nil {
		return Scan{}, fmt.Errorf("get scan %q: totals: %w", scanID, err)
	}
	s.TotalTrees = int(total.Int64)
	s.Evicted = int(evicted.Int64)
	s.Images, err = d.queryImages(ctx, `SELECT `+imageCols+imageFrom+` WHERE i.scan_id = ?
		ORDER BY i.captured_at DESC, i.item_id DESC LIMIT `+fmt.Sprint(MaxScanImages), scanID)
	if err != nil {
		return Scan{}, fmt.Errorf("get scan %q: images: %w", scanID, err)
	}
	return s, nil
}

// BBox is a WGS 84 box: west, south, east, north, in degrees.
type BBox [4]float64

// Valid reports why b is not a box, or nil.
func (b BBox) Valid() error {
	w, s, e, n := b[0], b[1], b[2], b[3]
	for _, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: bbox %v is not finite", ErrInvalid, b)
		}
	}
	if w < -180 || e > 180 || s < -90 || n > 90 || w > e || s > n {
		return fmt.Errorf("%w: bbox %v is not west,south,east,north in degrees with west <= east and south <= north", ErrInvalid, b)
	}
	return nil
}

// ScanQuery selects scans for ListScans. Zero fields do not filter.
type ScanQuery struct {
	AddressID string
	BBox      *BBox     // scans whose box meets it
	Since     time.Time // started at or after
	Until     time.Time // started before
	Oldest    bool      // oldest first (a place's scans in time order); default newest first
	Limit     int       // 0: 50; at most 500
	Cursor    string    // from the previous page; "" for the first
}

// ScanSummary is one scan as ListScans gives it: when it was taken, where,
// and its figures from the database (cloud/api adds the trees merged by
// position).
type ScanSummary struct {
	ScanID    string    `json:"scan_id"`
	AddressID string    `json:"address_id,omitempty"`
	TreeType  string    `json:"tree_type,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	StartedAt time.Time `json:"started_at"` // its first capture time
	EndedAt   time.Time `json:"ended_at"`   // its last
	// BBox is the box of its images' GPS positions and counted footprints
	// (nil: nothing placed yet).
	BBox        *BBox `json:"bbox,omitempty"`
	ImageCount  int   `json:"image_count"`
	Counted     int   `json:"counted"`
	Evicted     int   `json:"evicted"`
	SumOfCounts int   `json:"sum_of_counts"`
}

// Place is an address id and the span of its scans.
type Place struct {
	AddressID string    `json:"address_id"`
	Scans     int       `json:"scans"`
	First     time.Time `json:"first_scan_at"` // started_at of its first scan
	Last      time.Time `json:"last_scan_at"`  // and of its last
	BBox      *BBox     `json:"bbox,omitempty"`
}

type scanCursor struct {
	T  string `json:"t"`
	ID string `json:"s"`
}

// ListScans returns a page of scans, newest first by their first capture
// time (ties by scan id), or oldest first with q.Oldest, and the cursor of
// the next page ("" after the last). A cursor not made by ListScans, or a
// bad box, is an ErrInvalid error.
func (d *DB) ListScans(ctx context.Context, q ScanQuery) ([]ScanSummary, string, error) {
	limit := pageLimit(q.Limit)
	var f filter
	if q.AddressID != "" {
		f.add("s.address_id = ?", q.AddressID)
	}
	if q.BBox != nil {
		if err := q.BBox.Valid(); err != nil {
			return nil, "", fmt.Errorf("list scans: %w", err)
		}
		f.add("s.max_lon >= ? AND s.min_lon <= ? AND s.max_lat >= ? AND s.min_lat <= ?", q.BBox[0], q.BBox[2], q.BBox[1], q.BBox[3])
	}
	if !q.Since.IsZero() {
		f.add("s.started_at >= ?", d.ts(q.Since))
	}
	if !q.Until.IsZero() {
		f.add("s.started_at < ?", d.ts(q.Until))
	}
	order, after := "DESC", "<"
	if q.Oldest {
		order, after = "ASC", ">"
	}
	if q.Cursor != "" {
		t, id, err := decodeCursor(q.Cursor, "s")
		if err != nil {
			return nil, "", fmt.Errorf("list scans: %w", err)
		}
		f.add(fmt.Sprintf("(s.started_at %s ? OR (s.started_at = ? AND s.scan_id %s ?))", after, after), d.ts(t), d.ts(t), id)
	}
	query := `SELECT s.scan_id, s.address_id, s.tree_type, s.created_at, s.started_at, s.ended_at,
		s.min_lon, s.min_lat, s.max_lon, s.max_lat,
		COUNT(i.item_id), COUNT(c.item_id), COALESCE(SUM(c.count), 0),
		COALESCE(SUM(CASE WHEN i.state = 'image_evicted' THEN 1 ELSE 0 END), 0)
		FROM scans s LEFT JOIN images i ON i.scan_id = s.scan_id LEFT JOIN counts c ON c.item_id = i.item_id` + f.where() +
		fmt.Sprintf(" GROUP BY s.scan_id ORDER BY s.started_at %s, s.scan_id %s LIMIT %d", order, order, limit+1)
	rows, err := d.sql.QueryContext(ctx, d.rebind(query), f.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list scans: %w", err)
	}
	defer rows.Close()
	out := []ScanSummary{}
	for rows.Next() {
		var s ScanSummary
		var box [4]sql.NullFloat64
		if err := rows.Scan(&s.ScanID, &s.AddressID, &s.TreeType, timeCol{&s.CreatedAt}, timeCol{&s.StartedAt}, timeCol{&s.EndedAt},
			&box[0], &box[1], &box[2], &box[3], &s.ImageCount, &s.Counted, &s.SumOfCounts, &s.Evicted); err != nil {
			return nil, "", fmt.Errorf("list scans: %w", err)
		}
		s.BBox = bboxOf(box)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list scans: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		b, _ := json.Marshal(scanCursor{T: formatTime(last.StartedAt), ID: last.ScanID})
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	return out, next, nil
}

func bboxOf(b [4]sql.NullFloat64) *BBox {
	if !b[0].Valid || !b[1].Valid || !b[2].Valid || !b[3].Valid {
		return nil
	}
	return &BBox{b[0].Float64, b[1].Float64, b[2].Float64, b[3].Float64}
}

// ListPlaces returns every place (an address id that scans name), the one
// scanned last first, with the number and span of its scans.
func (d *DB) ListPlaces(ctx context.Context) ([]Place, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT address_id, COUNT(*), MIN(started_at), MAX(started_at),
		MIN(min_lon), MIN(min_lat), MAX(max_lon), MAX(max_lat)
		FROM scans WHERE address_id <> '' GROUP BY address_id ORDER BY MAX(started_at) DESC, address_id`)
	if err != nil {
		return nil, fmt.Errorf("list places: %w", err)
	}
	defer rows.Close()
	out := []Place{}
	for rows.Next() {
		var p Place
		var box [4]sql.NullFloat64
		if err := rows.Scan(&p.AddressID, &p.Scans, timeCol{&p.First}, timeCol{&p.Last}, &box[0], &box[1], &box[2], &box[3]); err != nil {
			return nil, fmt.Errorf("list places: %w", err)
		}
		p.BBox = bboxOf(box)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list places: %w", err)
	}
	return out, nil
}

// extendScan widens, in tx, the scan's time span to include at (unless
// zero) and its box to include the points ([lon, lat]). A scan id of "" is
// no scan.
func (d *DB) extendScan(ctx context.Context, tx *sql.Tx, scanID string, at time.Time, points [][2]float64) error {
	if scanID == "" || (at.IsZero() && len(points) == 0) {
		return nil
	}
	widen := func(col, keep string) string {
		return fmt.Sprintf("%s = CASE WHEN %s %s ? THEN %s ELSE ? END", col, col, keep, col)
	}
	var sets []string
	var args []any
	if !at.IsZero() {
		sets = append(sets, widen("started_at", "<="), widen("ended_at", ">="))
		args = append(args, d.ts(at), d.ts(at), d.ts(at), d.ts(at))
	}
	if len(points) > 0 {
		w, s, e, n := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range points {
			w, s, e, n = math.Min(w, p[0]), math.Min(s, p[1]), math.Max(e, p[0]), math.Max(n, p[1])
		}
		sets = append(sets, widen("min_lon", "<="), widen("min_lat", "<="), widen("max_lon", ">="), widen("max_lat", ">="))
		args = append(args, w, w, s, s, e, e, n, n)
	}
	_, err := tx.ExecContext(ctx, d.rebind(`UPDATE scans SET `+strings.Join(sets, ", ")+` WHERE scan_id = ?`), append(args, scanID)...)
	if err != nil {
		return fmt.Errorf("extend scan %q: %w", scanID, err)
	}
	return nil
}

// extendScanOf widens, in tx, the box of the scan of image item to include
// a counted footprint.
func (d *DB) extendScanOf(ctx context.Context, tx *sql.Tx, item string, footprint [][2]float64) error {
	if len(footprint) == 0 {
		return nil
	}
	var scanID string
	if err := tx.QueryRowContext(ctx, d.rebind(`SELECT scan_id FROM images WHERE item_id = ?`), item).Scan(&scanID); err != nil {
		return fmt.Errorf("scan of %q: %w", item, err)
	}
	return d.extendScan(ctx, tx, scanID, time.Time{}, footprint)
}
