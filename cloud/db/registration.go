package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Registration states of a scan (ScanRegistration.State).
const (
	RegPending     = "pending"     // photos counted, not registered yet
	RegDone        = "registered"  // registered (some photos may not be: see its photos' notes)
	RegUnavailable = "unavailable" // this build cannot register (no OpenCV): merged by position only
	RegFailed      = "failed"      // registration failed for good; merged by position
)

// ScanRegistration is what the last registration of a scan's photos by
// their content found (package cloud/register): where each photo lies in
// the scan's frames, what was matched, and the quick-look mosaic.
type ScanRegistration struct {
	ScanID string `json:"scan_id"`
	State  string `json:"state"`
	Note   string `json:"note,omitempty"`
	// Pending is true while photos counted since the last registration
	// wait for the next.
	Pending bool `json:"pending"`
	// Origin is the [lon, lat] of the plane (metres east and north) that
	// the georeferenced frames are in; nil when none is.
	Origin    *[2]float64       `json:"origin,omitempty"`
	Stats     RegistrationStats `json:"stats"`
	Mosaic    *MosaicInfo       `json:"mosaic,omitempty"`
	UpdatedAt time.Time         `json:"updated_at"`
	// Photos: every photo the registration knows, registered or not.
	Photos []RegisteredPhoto `json:"photos,omitempty"`
}

// RegistrationStats are a scan's registration figures.
type RegistrationStats struct {
	Photos       int `json:"photos"`              // photos considered
	Registered   int `json:"photos_registered"`   // in a block of two or more
	Unregistered int `json:"photos_unregistered"` // merged by position (or not placed)
	Blocks       int `json:"blocks"`              // sets of photos joined by registered pairs
	GeoBlocks    int `json:"geo_blocks"`          // blocks placed on the Earth (GPS)
	// Pairs: matched (tried), registered, rejected with a reason, and
	// dropped by the adjustment as inconsistent with the other pairs.
	PairsTried    int `json:"pairs_tried"`
	PairsMatched  int `json:"pairs_matched"`
	PairsRejected int `json:"pairs_rejected"`
	PairsDropped  int `json:"pairs_dropped"`
	// Detections placed; those of registered photos merged into a tree
	// another registered photo sees, or left out because another sees
	// their place better (BetterViews, part of RepeatsMerged); and those
	// merged by position (photos not registered).
	Detections       int `json:"detections"`
	RepeatsMerged    int `json:"repeats_merged"`
	BetterViews      int `json:"better_views"`
	MergedByPosition int `json:"merged_by_position"`
	// RepeatsFound are the crowns that registration maps onto a crown of
	// an overlapping registered photo (mutual nearest, within 1.5 m);
	// RepeatsFoundMerged of them ended in one tree.
	RepeatsFound       int `json:"repeats_found"`
	RepeatsFoundMerged int `json:"repeats_found_merged"`
	// Reprojection error: RMS distance between the two ends of every kept
	// correspondence in the adjusted frames, in the reference's view
	// pixels and in metres.
	ReprojErrorPx float64 `json:"reprojection_error_px"`
	ReprojErrorM  float64 `json:"reprojection_error_m"`
	// GPSRMSM: registered photo centres against their GPS positions.
	GPSRMSM float64 `json:"gps_rms_m,omitempty"`
	// AreaM2 is the ground the registered photos cover; SeenTwice the
	// share of it in two photos or more.
	AreaM2    float64 `json:"area_m2"`
	SeenTwice float64 `json:"seen_more_than_once"`
	// Seconds the last run took (of them, finding keypoints, matching and
	// drawing the mosaic), and the photos and pairs it did anew.
	Seconds         float64 `json:"seconds"`
	FeaturesSeconds float64 `json:"features_seconds"`
	MatchSeconds    float64 `json:"match_seconds"`
	MosaicSeconds   float64 `json:"mosaic_seconds"`
	NewPairs        int     `json:"new_pairs"`
	NewPhotos       int     `json:"new_photos"`
}

// MosaicInfo places a scan's mosaic: its objects in the processed bucket
// (Key with the trees drawn, PlainKey without) and its pixels in metres:
// pixel (c, r) starts at X0 + c*Res east and Y0 - r*Res north, in the
// plane of the registration's Origin when Geo, else in the local map of
// the scan's largest block.
type MosaicInfo struct {
	Key      string  `json:"key"`
	PlainKey string  `json:"plain_key"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	X0       float64 `json:"x0_m"`
	Y0       float64 `json:"y0_m"`
	Res      float64 `json:"res_m"`
	Geo      bool    `json:"geo"`
	Photos   int     `json:"photos"`
	Trees    int     `json:"trees"`
}

// RegisteredPhoto is one photo as registration knows it.
type RegisteredPhoto struct {
	ItemID string `json:"item_id"`
	// The keypoints and the reduced view of the photo (processed bucket),
	// the view's size, and the photo's pixels per view pixel.
	FeaturesKey string  `json:"features_key,omitempty"`
	ViewKey     string  `json:"view_key,omitempty"`
	ViewWidth   int     `json:"view_width"`
	ViewHeight  int     `json:"view_height"`
	ViewScale   float64 `json:"view_scale"`
	Keypoints   int     `json:"keypoints"`
	// Block is the photo's block (-1: not registered); ToFrame maps its
	// pixels to metres in that block's frame (on the plane of the
	// registration's Origin when Geo). Note says why it is not registered.
	Block   int         `json:"block"`
	ToFrame *[9]float64 `json:"to_frame,omitempty"`
	Geo     bool        `json:"geo"`
	Note    string      `json:"note,omitempty"`
}

// RegistrationPair is one pair of photos matched: registered (OK) or
// rejected with its reason.
type RegistrationPair struct {
	ItemA   string  `json:"item_a"`
	ItemB   string  `json:"item_b"`
	Why     string  `json:"why"`    // why the pair was matched
	Guided  bool    `json:"guided"` // matched near a predicted position
	OK      bool    `json:"ok"`
	Reason  string  `json:"reason,omitempty"`
	Matches int     `json:"matches"`
	Inliers int     `json:"inliers"`
	RMSPx   float64 `json:"rms_px"`
	// H maps B's view pixels to A's; Corr is a sample of the inliers
	// {ax, ay, bx, by} (view pixels).
	H         [9]float64   `json:"h"`
	Corr      [][4]float32 `json:"corr,omitempty"`
	MatchedAt time.Time    `json:"matched_at"`
}

// RegistrationClaim is a scan a worker holds for registration: Seq is the
// change it registers up to.
type RegistrationClaim struct {
	ScanID   string
	Seq      int64
	Attempts int
}

// MaxRegistrationAttempts is how often a failing registration is tried
// before it fails for good (until the scan changes again).
const MaxRegistrationAttempts = 3

// MarkScanChanged records that a photo of the scan was counted (or
// counted again): the scan is to be registered once more.
func (d *DB) MarkScanChanged(ctx context.Context, scanID string) error {
	if scanID == "" {
		return nil
	}
	t := d.ts(now())
	_, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO scan_registrations (scan_id, dirty_seq, dirty_since, updated_at)
		VALUES (?, 1, ?, ?) ON CONFLICT (scan_id) DO UPDATE SET dirty_seq = scan_registrations.dirty_seq + 1,
		dirty_since = CASE WHEN scan_registrations.dirty_seq > scan_registrations.done_seq
			THEN scan_registrations.dirty_since ELSE excluded.dirty_since END,
		attempts = 0`), scanID, t, t)
	if err != nil {
		return fmt.Errorf("mark scan %q changed: %w", scanID, err)
	}
	return nil
}

// ClaimRegistration leases to worker the scan that has waited longest
// with changes not yet registered, once the first of them is older than
// settle (so that photos arriving together are registered together).
// ErrNoJob when none is ready. On PostgreSQL any number of workers may
// claim at once.
func (d *DB) ClaimRegistration(ctx context.Context, worker string, lease, settle time.Duration) (RegistrationClaim, error) {
	if err := checkClaim(worker, lease); err != nil {
		return RegistrationClaim{}, fmt.Errorf("claim registration: %w", err)
	}
	pick := `SELECT scan_id FROM scan_registrations WHERE dirty_seq > done_seq AND dirty_since <= ?
		AND (lease_until IS NULL OR lease_until < ?) ORDER BY dirty_since LIMIT 1`
	if d.dialect == Postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	t := now()
	var c RegistrationClaim
	err := d.sql.QueryRowContext(ctx, d.rebind(`UPDATE scan_registrations SET lease_until = ?, worker = ?,
		attempts = attempts + 1, updated_at = ? WHERE scan_id = (`+pick+`) RETURNING scan_id, dirty_seq, attempts`),
		d.ts(t.Add(lease)), worker, d.ts(t), d.ts(t.Add(-settle)), d.ts(t)).Scan(&c.ScanID, &c.Seq, &c.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return RegistrationClaim{}, ErrNoJob
	}
	if err != nil {
		return RegistrationClaim{}, fmt.Errorf("claim registration: %w", err)
	}
	return c, nil
}

// FinishRegistration records a registration of the claimed scan: its
// state, note, figures, origin and mosaic, and where each of r.Photos
// lies (their rows must have been saved with SaveRegisteredPhoto).
// Changes made since the claim stay pending.
func (d *DB) FinishRegistration(ctx context.Context, c RegistrationClaim, r ScanRegistration) error {
	stats, err := json.Marshal(r.Stats)
	if err != nil {
		return fmt.Errorf("finish registration %q: %w", c.ScanID, err)
	}
	mosaic, err := jsonText(r.Mosaic, r.Mosaic == nil)
	if err != nil {
		return fmt.Errorf("finish registration %q: %w", c.ScanID, err)
	}
	var lon, lat sql.NullFloat64
	if r.Origin != nil {
		lon, lat = sql.NullFloat64{Float64: r.Origin[0], Valid: true}, sql.NullFloat64{Float64: r.Origin[1], Valid: true}
	}
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		t := d.ts(now())
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO scan_registrations (scan_id, dirty_seq, done_seq, dirty_since,
			state, note, origin_lon, origin_lat, stats, mosaic, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (scan_id) DO UPDATE SET
			done_seq = CASE WHEN scan_registrations.done_seq > excluded.done_seq THEN scan_registrations.done_seq ELSE excluded.done_seq END,
			lease_until = NULL, worker = '', attempts = 0, state = excluded.state, note = excluded.note,
			origin_lon = excluded.origin_lon, origin_lat = excluded.origin_lat, stats = excluded.stats, mosaic = excluded.mosaic,
			updated_at = excluded.updated_at`),
			c.ScanID, c.Seq, c.Seq, t, r.State, r.Note, lon, lat, string(stats), mosaic, t); err != nil {
			return err
		}
		for _, p := range r.Photos {
			frame, err := jsonText(p.ToFrame, p.ToFrame == nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE registration_photos SET block = ?, to_frame = ?, geo = ?, note = ?
				WHERE item_id = ?`), p.Block, frame, p.Geo, p.Note, p.ItemID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish registration %q: %w", c.ScanID, err)
	}
	return nil
}

// FailRegistration records a failed attempt at the claimed scan: tried
// again after retry while attempts remain (MaxRegistrationAttempts),
// else failed until the scan changes again.
func (d *DB) FailRegistration(ctx context.Context, c RegistrationClaim, reason string, retry time.Duration) error {
	if len(reason) > 4096 {
		reason = reason[:4096]
	}
	t := now()
	q := `UPDATE scan_registrations SET lease_until = ?, worker = '', note = ?, updated_at = ? WHERE scan_id = ?`
	args := []any{d.ts(t.Add(retry)), reason, d.ts(t), c.ScanID}
	if c.Attempts >= MaxRegistrationAttempts {
		q = `UPDATE scan_registrations SET done_seq = CASE WHEN done_seq > ? THEN done_seq ELSE ? END,
			lease_until = NULL, worker = '', attempts = 0, state = ?, note = ?, updated_at = ? WHERE scan_id = ?`
		args = []any{c.Seq, c.Seq, RegFailed, reason, d.ts(t), c.ScanID}
	}
	if _, err := d.sql.ExecContext(ctx, d.rebind(q), args...); err != nil {
		return fmt.Errorf("fail registration %q: %w", c.ScanID, err)
	}
	return nil
}

// SaveRegisteredPhoto records a photo's keypoints and view (its place is
// recorded by FinishRegistration).
func (d *DB) SaveRegisteredPhoto(ctx context.Context, scanID string, p RegisteredPhoto) error {
	_, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO registration_photos (item_id, scan_id, features_key, view_key,
		view_width, view_height, view_scale, keypoints) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (item_id) DO UPDATE SET scan_id = excluded.scan_id, features_key = excluded.features_key,
		view_key = excluded.view_key, view_width = excluded.view_width, view_height = excluded.view_height,
		view_scale = excluded.view_scale, keypoints = excluded.keypoints`),
		p.ItemID, scanID, p.FeaturesKey, p.ViewKey, p.ViewWidth, p.ViewHeight, p.ViewScale, p.Keypoints)
	if err != nil {
		return fmt.Errorf("save registered photo %q: %w", p.ItemID, err)
	}
	return nil
}

// SaveRegistrationPair records a matched pair (replacing an earlier
// match of the same two photos).
func (d *DB) SaveRegistrationPair(ctx context.Context, scanID string, p RegistrationPair) error {
	h, err := json.Marshal(p.H)
	if err != nil {
		return fmt.Errorf("save registration pair: %w", err)
	}
	corr, err := jsonText(p.Corr, len(p.Corr) == 0)
	if err != nil {
		return fmt.Errorf("save registration pair: %w", err)
	}
	if p.MatchedAt.IsZero() {
		p.MatchedAt = now()
	}
	_, err = d.sql.ExecContext(ctx, d.rebind(`INSERT INTO registration_pairs (scan_id, item_a, item_b, why, guided, ok,
		reason, matches, inliers, rms_px, h, corr, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scan_id, item_a, item_b) DO UPDATE SET why = excluded.why, guided = excluded.guided, ok = excluded.ok,
		reason = excluded.reason, matches = excluded.matches, inliers = excluded.inliers, rms_px = excluded.rms_px,
		h = excluded.h, corr = excluded.corr, matched_at = excluded.matched_at`),
		scanID, p.ItemA, p.ItemB, p.Why, p.Guided, p.OK, p.Reason, p.Matches, p.Inliers, p.RMSPx, string(h), corr, d.ts(p.MatchedAt))
	if err != nil {
		return fmt.Errorf("save registration pair %q-%q: %w", p.ItemA, p.ItemB, err)
	}
	return nil
}

// RegistrationPairs returns every pair of the scan matched so far.
func (d *DB) RegistrationPairs(ctx context.Context, scanID string) ([]RegistrationPair, error) {
	rows, err := d.sql.QueryContext(ctx, d.rebind(`SELECT item_a, item_b, why, guided, ok, reason, matches, inliers,
		rms_px, h, corr, matched_at FROM registration_pairs WHERE scan_id = ? ORDER BY item_a, item_b`), scanID)
	if err != nil {
		return nil, fmt.Errorf("registration pairs of %q: %w", scanID, err)
	}
	defer rows.Close()
	out := []RegistrationPair{}
	for rows.Next() {
		var p RegistrationPair
		var h, corr string
		if err := rows.Scan(&p.ItemA, &p.ItemB, &p.Why, &p.Guided, &p.OK, &p.Reason, &p.Matches, &p.Inliers,
			&p.RMSPx, &h, &corr, timeCol{&p.MatchedAt}); err != nil {
			return nil, fmt.Errorf("registration pairs of %q: %w", scanID, err)
		}
		if err := json.Unmarshal([]byte(h), &p.H); err != nil {
			return nil, fmt.Errorf("registration pair %q-%q: %w", p.ItemA, p.ItemB, err)
		}
		if corr != "" {
			if err := json.Unmarshal([]byte(corr), &p.Corr); err != nil {
				return nil, fmt.Errorf("registration pair %q-%q: %w", p.ItemA, p.ItemB, err)
			}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GetRegistration returns the scan's registration with its photos;
// ErrNotFound when the scan has none (no photo counted since version 6).
// Photos whose keypoints were found before the scan's first registration
// was recorded are returned with state RegPending.
func (d *DB) GetRegistration(ctx context.Context, scanID string) (ScanRegistration, error) {
	r := ScanRegistration{ScanID: scanID}
	var stats, mosaic string
	var lon, lat sql.NullFloat64
	var dirty, done int64
	err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT state, note, dirty_seq, done_seq, origin_lon, origin_lat, stats,
		mosaic, updated_at FROM scan_registrations WHERE scan_id = ?`), scanID).
		Scan(&r.State, &r.Note, &dirty, &done, &lon, &lat, &stats, &mosaic, timeCol{&r.UpdatedAt})
	norow := errors.Is(err, sql.ErrNoRows)
	if norow {
		r.State, r.Pending = RegPending, true
	} else if err != nil {
		return ScanRegistration{}, fmt.Errorf("registration of %q: %w", scanID, err)
	}
	r.Pending = r.Pending || dirty > done
	if lon.Valid && lat.Valid {
		r.Origin = &[2]float64{lon.Float64, lat.Float64}
	}
	if stats != "" {
		if err := json.Unmarshal([]byte(stats), &r.Stats); err != nil {
			return ScanRegistration{}, fmt.Errorf("registration of %q: stats: %w", scanID, err)
		}
	}
	if mosaic != "" {
		r.Mosaic = &MosaicInfo{}
		if err := json.Unmarshal([]byte(mosaic), r.Mosaic); err != nil {
			return ScanRegistration{}, fmt.Errorf("registration of %q: mosaic: %w", scanID, err)
		}
	}
	rows, err := d.sql.QueryContext(ctx, d.rebind(`SELECT item_id, features_key, view_key, view_width, view_height,
		view_scale, keypoints, block, to_frame, geo, note FROM registration_photos WHERE scan_id = ? ORDER BY item_id`), scanID)
	if err != nil {
		return ScanRegistration{}, fmt.Errorf("registration of %q: photos: %w", scanID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p RegisteredPhoto
		var frame string
		if err := rows.Scan(&p.ItemID, &p.FeaturesKey, &p.ViewKey, &p.ViewWidth, &p.ViewHeight, &p.ViewScale,
			&p.Keypoints, &p.Block, &frame, &p.Geo, &p.Note); err != nil {
			return ScanRegistration{}, fmt.Errorf("registration of %q: photos: %w", scanID, err)
		}
		if frame != "" {
			p.ToFrame = &[9]float64{}
			if err := json.Unmarshal([]byte(frame), p.ToFrame); err != nil {
				return ScanRegistration{}, fmt.Errorf("registration of %q: photo %q: %w", scanID, p.ItemID, err)
			}
		}
		r.Photos = append(r.Photos, p)
	}
	if err := rows.Err(); err != nil {
		return ScanRegistration{}, fmt.Errorf("registration of %q: photos: %w", scanID, err)
	}
	if norow && len(r.Photos) == 0 {
		return ScanRegistration{}, fmt.Errorf("registration of %q: %w", scanID, ErrNotFound)
	}
	return r, nil
}
