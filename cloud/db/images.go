package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Image states.
const (
	StateStored   = "stored"   // raw objects and row written, count job queued
	StateCounting = "counting" // a worker holds its job
	StateCounted  = "counted"  // a count is recorded
	StateFailed   = "failed"   // counting failed for good
	// StateImageEvicted: the device's outbox dropped the image bytes to stay
	// within its byte bound before the item was sent. The row, its metadata
	// and the device's mask are kept; there is no image and no count job, so
	// it is never counted (and never counted as zero trees).
	StateImageEvicted = "image_evicted"
)

// Image origins.
const (
	OriginDevice = "device" // sent by a field device over MQTT
	OriginUpload = "upload" // POST /v1/images
	OriginCompat = "compat" // the earlier pipeline's JSON message
)

// Image is one stored image and what is known of it.
type Image struct {
	ItemID        string    `json:"item_id"`
	Device        string    `json:"device,omitempty"`
	Seq           uint64    `json:"seq"`
	CapturedAt    time.Time `json:"captured_at"`
	ClockSynced   bool      `json:"clock_synced"`
	Lat           *float64  `json:"lat,omitempty"`
	Lon           *float64  `json:"lon,omitempty"`
	Width         int       `json:"width"`
	Height        int       `json:"height"`
	ForestShare   float64   `json:"forest_share"`
	Segmenter     string    `json:"segmenter,omitempty"`
	Model         string    `json:"model,omitempty"`
	ModelSHA256   string    `json:"model_sha256,omitempty"`
	ScanID        string    `json:"scan_id,omitempty"`
	AddressID     string    `json:"address_id,omitempty"`
	TreeType      string    `json:"tree_type,omitempty"`
	Source        string    `json:"source,omitempty"`
	Origin        string    `json:"origin"`             // OriginDevice, OriginUpload, OriginCompat; "" = device
	RawKey        string    `json:"raw_key"`            // in bucket "raw"
	MaskKey       string    `json:"mask_key,omitempty"` // the device's mask, in bucket "raw"
	ContentSHA256 string    `json:"content_sha256,omitempty"`
	State         string    `json:"state"`       // set by the database; PutImage takes StateImageEvicted, else stores StateStored
	ReceivedAt    time.Time `json:"received_at"` // zero in PutImage: now
	// RawDeletedAt is when retention deleted the raw image (zero: kept);
	// its count, boxes, masks and annotated image stay.
	RawDeletedAt time.Time `json:"raw_deleted_at,omitzero"`
	// Where the image lies on the ground, as the device or upload said.
	Ground

	// Count is the image's count once it has one.
	Count *CountRecord `json:"count,omitempty"`
}

// CountRecord is the result of counting one image.
type CountRecord struct {
	ItemID       string    `json:"item_id"`
	Count        int       `json:"count"`
	Boxes        []Box     `json:"boxes"`
	Method       string    `json:"method"`
	Model        string    `json:"model,omitempty"`
	ModelSHA256  string    `json:"model_sha256,omitempty"`
	AnnotatedKey string    `json:"annotated_key,omitempty"` // in bucket "processed"
	MaskKey      string    `json:"mask_key,omitempty"`      // in bucket "processed"
	CountedAt    time.Time `json:"counted_at"`              // zero: now
	// Where the trees lie: the GSD counted at, and how boxes were placed.
	Placement
}

// ImageQuery selects images for ListImages. Zero fields do not filter.
type ImageQuery struct {
	Device string
	ScanID string
	Since  time.Time // captured at or after
	Limit  int       // 0: 50; at most 500
	Cursor string    // from the previous page; "" for the first
}

// Page sizes of ListImages.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// PutImage stores img unless an image with its item id exists: in one
// transaction it inserts the image in state "stored", upserts its device
// (last seen) and scan, and queues its count job. An image in state
// StateImageEvicted (its bytes never reached the cloud) is inserted in that
// state and gets no count job. created is false for a duplicate, which
// changes nothing. Any other img.State is ignored; a zero img.ReceivedAt
// means now.
func (d *DB) PutImage(ctx context.Context, img Image) (created bool, err error) {
	if err := ValidateImage(img); err != nil {
		return false, fmt.Errorf("put image %q: %w", img.ItemID, err)
	}
	if img.Origin == "" {
		img.Origin = OriginDevice
	}
	evicted := img.State == StateImageEvicted
	state := StateStored
	if evicted {
		state = StateImageEvicted
	}
	t := now()
	if img.ReceivedAt.IsZero() {
		img.ReceivedAt = t
	}
	var lat, lon sql.NullFloat64
	if img.Lat != nil {
		lat = sql.NullFloat64{Float64: *img.Lat, Valid: true}
		lon = sql.NullFloat64{Float64: *img.Lon, Valid: true}
	}
	georef, err := jsonText(img.GeoRef, img.GeoRef == nil)
	if err != nil {
		return false, fmt.Errorf("put image %q: georef: %w", img.ItemID, err)
	}
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO images (item_id, device, seq, captured_at,
			clock_synced, lat, lon, width, height, forest_share, segmenter, model, model_sha256,
			scan_id, address_id, tree_type, source, origin, raw_key, mask_key, content_sha256,
			state, received_at, gsd_m, gsd_source, height_m, yaw_deg, gimbal_pitch_deg, georef, geo_note, gps_alt_m)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (item_id) DO NOTHING`),
			img.ItemID, img.Device, int64(img.Seq), d.ts(img.CapturedAt), img.ClockSynced, lat, lon,
			img.Width, img.Height, img.ForestShare, img.Segmenter, img.Model, img.ModelSHA256,
			img.ScanID, img.AddressID, img.TreeType, img.Source, img.Origin, img.RawKey, img.MaskKey,
			img.ContentSHA256, state, d.ts(img.ReceivedAt),
			img.GSD, img.GSDSource, nullFloat(img.HeightM), nullFloat(img.YawDeg), nullFloat(img.GimbalPitchDeg), georef, img.GeoNote, nullFloat(img.GPSAltM))
		if err != nil {
			return fmt.Errorf("insert image: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return errDuplicate
		}
		if img.Device != "" {
			if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO devices (id, first_seen, last_seen) VALUES (?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET last_seen = CASE WHEN excluded.last_seen > devices.last_seen
				THEN excluded.last_seen ELSE devices.last_seen END`),
				img.Device, d.ts(img.ReceivedAt), d.ts(img.ReceivedAt)); err != nil {
				return fmt.Errorf("upsert device: %w", err)
			}
		}
		if img.ScanID != "" {
			if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO scans (scan_id, address_id, tree_type, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (scan_id) DO UPDATE SET
				address_id = CASE WHEN scans.address_id = '' THEN excluded.address_id ELSE scans.address_id END,
				tree_type = CASE WHEN scans.tree_type = '' THEN excluded.tree_type ELSE scans.tree_type END`),
				img.ScanID, img.AddressID, img.TreeType, d.ts(t)); err != nil {
				return fmt.Errorf("upsert scan: %w", err)
			}
			var at [][2]float64
			if img.Lat != nil {
				at = [][2]float64{{*img.Lon, *img.Lat}}
			}
			if err := d.extendScan(ctx, tx, img.ScanID, img.CapturedAt, at); err != nil { // scans.go
				return err
			}
		}
		if evicted {
			return nil // nothing to count
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO jobs (item_id, state, attempts, lease_until, created_at, updated_at)
			VALUES (?, ?, 0, ?, ?, ?)`), img.ItemID, JobQueued, d.ts(t), d.ts(t), d.ts(t)); err != nil {
			return fmt.Errorf("queue job: %w", err)
		}
		return nil
	})
	if errors.Is(err, errDuplicate) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put image %q: %w", img.ItemID, err)
	}
	return true, nil
}

var errDuplicate = errors.New("duplicate")

// imageCols are the columns of an image joined with its count (alias i, c).
const imageCols = `i.item_id, i.device, i.seq, i.captured_at, i.clock_synced, i.lat, i.lon,
	i.width, i.height, i.forest_share, i.segmenter, i.model, i.model_sha256, i.scan_id,
	i.address_id, i.tree_type, i.source, i.origin, i.raw_key, i.mask_key, i.content_sha256,
	i.state, i.received_at, i.raw_deleted_at,
	i.gsd_m, i.gsd_source, i.height_m, i.yaw_deg, i.gimbal_pitch_deg, i.georef, i.geo_note, i.gps_alt_m,
	c.count, c.boxes, c.method, c.model, c.model_sha256, c.annotated_key, c.mask_key, c.counted_at,
	c.gsd_m, c.gsd_source, c.positions, c.position_note, c.footprint`

const imageFrom = ` FROM images i LEFT JOIN counts c ON c.item_id = i.item_id`

type scanner interface{ Scan(dest ...any) error }

func scanImage(r scanner) (Image, error) {
	var (
		img       Image
		seq       int64
		lat, lon  sql.NullFloat64
		cCount    sql.NullInt64
		cBoxes    []byte
		cMethod   sql.NullString
		cModel    sql.NullString
		cSHA      sql.NullString
		cAnnot    sql.NullString
		cMask     sql.NullString
		countedAt time.Time

		height, yaw, pitch, alt sql.NullFloat64
		georef                  string
		cGSD                    sql.NullFloat64
		cGSDSource              sql.NullString
		cPositions              sql.NullString
		cPosNote                sql.NullString
		cFootprint              sql.NullString
	)
	err := r.Scan(&img.ItemID, &img.Device, &seq, timeCol{&img.CapturedAt}, &img.ClockSynced, &lat, &lon,
		&img.Width, &img.Height, &img.ForestShare, &img.Segmenter, &img.Model, &img.ModelSHA256, &img.ScanID,
		&img.AddressID, &img.TreeType, &img.Source, &img.Origin, &img.RawKey, &img.MaskKey, &img.ContentSHA256,
		&img.State, timeCol{&img.ReceivedAt}, timeCol{&img.RawDeletedAt},
		&img.GSD, &img.GSDSource, &height, &yaw, &pitch, &georef, &img.GeoNote, &alt,
		&cCount, &cBoxes, &cMethod, &cModel, &cSHA, &cAnnot, &cMask, timeCol{&countedAt},
		&cGSD, &cGSDSource, &cPositions, &cPosNote, &cFootprint)
	if err != nil {
		return Image{}, err
	}
	img.HeightM, img.YawDeg, img.GimbalPitchDeg, img.GPSAltM = floatPtr(height), floatPtr(yaw), floatPtr(pitch), floatPtr(alt)
	if georef != "" {
		img.GeoRef = &GeoRef{}
		if err := json.Unmarshal([]byte(georef), img.GeoRef); err != nil {
			return Image{}, fmt.Errorf("georef of %q: %w", img.ItemID, err)
		}
	}
	img.Seq = uint64(seq)
	if lat.Valid && lon.Valid {
		img.Lat, img.Lon = &lat.Float64, &lon.Float64
	}
	if cCount.Valid {
		c := &CountRecord{
			ItemID: img.ItemID, Count: int(cCount.Int64), Method: cMethod.String, Model: cModel.String,
			ModelSHA256: cSHA.String, AnnotatedKey: cAnnot.String, MaskKey: cMask.String, CountedAt: countedAt,
		}
		c.Boxes = []Box{}
		if len(cBoxes) > 0 {
			if err := json.Unmarshal(cBoxes, &c.Boxes); err != nil {
				return Image{}, fmt.Errorf("boxes of %q: %w", img.ItemID, err)
			}
		}
		c.Placement = Placement{GSD: cGSD.Float64, GSDSource: cGSDSource.String, Positions: cPositions.String, PositionNote: cPosNote.String}
		if cFootprint.String != "" {
			if err := json.Unmarshal([]byte(cFootprint.String), &c.Footprint); err != nil {
				return Image{}, fmt.Errorf("footprint of %q: %w", img.ItemID, err)
			}
		}
		img.Count = c
	}
	return img, nil
}

// GetImage returns the image with its count, if counted; ErrNotFound.
func (d *DB) GetImage(ctx context.Context, itemID string) (Image, error) {
	return getImage(d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+imageCols+imageFrom+` WHERE i.item_id = ?`), itemID), itemID)
}

// getImage scans the image itemID from row; ErrNotFound when there is none.
func getImage(row *sql.Row, itemID string) (Image, error) {
	img, err := scanImage(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Image{}, fmt.Errorf("get image %q: %w", itemID, ErrNotFound)
	}
	if err != nil {
		return Image{}, fmt.Errorf("get image %q: %w", itemID, err)
	}
	return img, nil
}

// scanOrSince adds to f the images of scan scanID and those captured at
// or after since, where given.
func (d *DB) scanOrSince(f *filter, scanID string, since time.Time) {
	if scanID != "" {
		f.add("i.scan_id = ?", scanID)
	}
	if !since.IsZero() {
		f.add("i.captured_at >= ?", d.ts(since))
	}
}

// cursor is the position after the last image of a page (decodeCursor
// with key "i").
type cursor struct {
	T  string `json:"t"` // captured_at, timeLayout
	ID string `json:"i"`
}

func encodeCursor(img Image) string {
	b, _ := json.Marshal(cursor{T: formatTime(img.CapturedAt), ID: img.ItemID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ListImages returns a page of images, newest capture first (ties by item
// id, descending), and the cursor of the next page ("" after the last). A
// cursor not made by ListImages is an ErrInvalid error.
func (d *DB) ListImages(ctx context.Context, q ImageQuery) ([]Image, string, error) {
	limit := pageLimit(q.Limit)
	var f filter
	if q.Device != "" {
		f.add("i.device = ?", q.Device)
	}
	d.scanOrSince(&f, q.ScanID, q.Since)
	if q.Cursor != "" {
		t, id, err := decodeCursor(q.Cursor, "i")
		if err != nil {
			return nil, "", fmt.Errorf("list images: %w", err)
		}
		f.add("(i.captured_at < ? OR (i.captured_at = ? AND i.item_id < ?))", d.ts(t), d.ts(t), id)
	}
	query := `SELECT ` + imageCols + imageFrom + f.where() +
		fmt.Sprintf(" ORDER BY i.captured_at DESC, i.item_id DESC LIMIT %d", limit+1)
	imgs, err := d.queryImages(ctx, query, f.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list images: %w", err)
	}
	next := ""
	if len(imgs) > limit {
		imgs = imgs[:limit]
		next = encodeCursor(imgs[limit-1])
	}
	return imgs, next, nil
}

// pageLimit is the page size asked for: DefaultLimit for 0 or less, at
// most MaxLimit.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

func (d *DB) queryImages(ctx context.Context, query string, args ...any) ([]Image, error) {
	rows, err := d.sql.QueryContext(ctx, d.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	imgs := []Image{}
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return imgs, rows.Err()
}

// HasRawKey reports whether an image row names key as its raw key or its
// device mask key (both in bucket "raw"), for reconciling objects with rows.
func (d *DB) HasRawKey(ctx context.Context, key string) (bool, error) {
	var one int
	err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT 1 FROM images WHERE raw_key = ?
		UNION ALL SELECT 1 FROM images WHERE mask_key = ? AND mask_key <> '' LIMIT 1`), key, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("has raw key %q: %w", key, err)
	}
	return true, nil
}

// HasImage reports whether an image with item id itemID is stored.
func (d *DB) HasImage(ctx context.Context, itemID string) (bool, error) {
	var one int
	err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT 1 FROM images WHERE item_id = ?`), itemID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("has image %q: %w", itemID, err)
	}
	return true, nil
}

// EachScanImage calls fn with every image of a scan, with its count if
// counted, oldest capture first, reading rows as it goes (a scan may hold
// more images than fit in memory with their boxes). It stops at fn's
// first error and returns it. fn must not use d: on SQLite the one
// connection is busy reading.
func (d *DB) EachScanImage(ctx context.Context, scanID string, fn func(Image) error) error {
	rows, err := d.sql.QueryContext(ctx, d.rebind(`SELECT `+imageCols+imageFrom+` WHERE i.scan_id = ?
		ORDER BY i.captured_at, i.item_id`), scanID)
	if err != nil {
		return fmt.Errorf("scan %q images: %w", scanID, err)
	}
	defer rows.Close()
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			return fmt.Errorf("scan %q images: %w", scanID, err)
		}
		if err := fn(img); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan %q images: %w", scanID, err)
	}
	return nil
}
