package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// States of a rollout.
const (
	RolloutRunning = "running" // waves are sent as the earlier ones turn out healthy
	RolloutPaused  = "paused"  // no new wave until resumed
	RolloutHalted  = "halted"  // too many devices failed: no new wave (abort it to free its devices)
	RolloutAborted = "aborted" // stopped for good; devices not yet changed were given back their documents
	RolloutDone    = "done"    // every device applied or failed
)

// States of a device in a rollout (RolloutTarget.State).
const (
	TargetPending   = "pending"   // its wave has not been sent
	TargetSent      = "sent"      // its desired document was changed; no answer yet
	TargetApplied   = "applied"   // it runs the version sent
	TargetFailed    = "failed"    // it refused or rolled back the version sent
	TargetWithdrawn = "withdrawn" // given back its document before the rollout
	TargetSkipped   = "skipped"   // revoked (or unknown): sent nothing
)

// Rollout is a model and/or config overrides for a set of devices, sent
// in waves.
type Rollout struct {
	ID            string        `json:"rollout"`
	State         string        `json:"state"`
	Reason        string        `json:"reason,omitempty"`
	ModelSHA256   string        `json:"model_sha256,omitempty"`
	Config        string        `json:"config,omitempty"` // JSON object of agent config overrides
	Waves         int           `json:"waves"`
	Canary        float64       `json:"canary"`         // share of the devices in the first wave
	HaltThreshold float64       `json:"halt_threshold"` // halt when more than this share of those sent fail
	WaveTimeout   time.Duration `json:"-"`              // the next wave goes after this even with devices silent
	Wave          int           `json:"wave"`           // waves sent so far
	WaveStartedAt time.Time     `json:"wave_started_at,omitzero"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
}

// Active reports whether r still owns its devices (running, paused or
// halted).
func (r Rollout) Active() bool {
	return r.State == RolloutRunning || r.State == RolloutPaused || r.State == RolloutHalted
}

// RolloutTarget is one device of a rollout.
type RolloutTarget struct {
	Device    string    `json:"device"`
	Wave      int       `json:"wave"`
	Version   int64     `json:"version,omitempty"` // the desired version sent (0: not yet)
	State     string    `json:"state"`
	Detail    string    `json:"detail,omitempty"`
	Prev      string    `json:"-"` // its desired document before (JSON; "" for none)
	UpdatedAt time.Time `json:"updated_at"`
	// Reported is what the device reports (nil: nothing yet), BytesSent
	// the chunk bytes of the rollout's model sent to it.
	Reported  *Reported `json:"reported,omitempty"`
	BytesSent int64     `json:"bytes_sent,omitempty"`
}

const rolloutCols = `id, state, reason, model_sha256, config, waves, canary, halt_threshold, wave_timeout_ms, wave, wave_started_at, created_at, updated_at`

func scanRollout(r scanner) (Rollout, error) {
	var x Rollout
	var ms int64
	err := r.Scan(&x.ID, &x.State, &x.Reason, &x.ModelSHA256, &x.Config, &x.Waves, &x.Canary, &x.HaltThreshold, &ms, &x.Wave,
		timeCol{&x.WaveStartedAt}, timeCol{&x.CreatedAt}, timeCol{&x.UpdatedAt})
	x.WaveTimeout = time.Duration(ms) * time.Millisecond
	return x, err
}

// CreateRollout stores r and its targets. It fails with ErrExists when a
// device is in another active rollout.
func (d *DB) CreateRollout(ctx context.Context, r Rollout, targets []RolloutTarget) error {
	if r.ID == "" || r.Waves < 1 || len(targets) == 0 {
		return fmt.Errorf("create rollout: %w: id %q, %d waves, %d devices", ErrInvalid, r.ID, r.Waves, len(targets))
	}
	t := now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = t
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create rollout: %w", err)
	}
	defer tx.Rollback()
	for _, x := range targets {
		var other, state string
		err := tx.QueryRowContext(ctx, d.rebind(`SELECT r.id, r.state FROM rollout_devices t JOIN rollouts r ON r.id = t.rollout
			WHERE t.device = ? AND r.state IN (?, ?, ?)`), x.Device, RolloutRunning, RolloutPaused, RolloutHalted).Scan(&other, &state)
		if err == nil {
			return fmt.Errorf("create rollout: %w: device %s is in rollout %s (%s): abort it first", ErrExists, x.Device, other, state)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("create rollout: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO rollouts (`+rolloutCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)`),
		r.ID, r.State, r.Reason, r.ModelSHA256, r.Config, r.Waves, r.Canary, r.HaltThreshold, r.WaveTimeout.Milliseconds(),
		d.ts(r.CreatedAt), d.ts(t)); err != nil {
		return fmt.Errorf("create rollout: %w", err)
	}
	for _, x := range targets {
		if x.State == "" {
			x.State = TargetPending
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO rollout_devices (rollout, device, wave, state, detail, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`), r.ID, x.Device, x.Wave, x.State, x.Detail, d.ts(t)); err != nil {
			return fmt.Errorf("create rollout: device %s: %w", x.Device, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create rollout: %w", err)
	}
	return nil
}

// GetRollout returns rollout id; ErrNotFound.
func (d *DB) GetRollout(ctx context.Context, id string) (Rollout, error) {
	r, err := scanRollout(d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+rolloutCols+` FROM rollouts WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Rollout{}, fmt.Errorf("rollout %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Rollout{}, fmt.Errorf("get rollout: %w", err)
	}
	return r, nil
}

// ListRollouts returns the rollouts in one of states (none: all), newest
// first.
func (d *DB) ListRollouts(ctx context.Context, states ...string) ([]Rollout, error) {
	q, args := `SELECT `+rolloutCols+` FROM rollouts`, []any{}
	if len(states) > 0 {
		q += ` WHERE state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	rows, err := d.sql.QueryContext(ctx, d.rebind(q+` ORDER BY created_at DESC, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	defer rows.Close()
	out := []Rollout{}
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			return nil, fmt.Errorf("list rollouts: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RolloutTargets returns the devices of rollout id by wave and device,
// each with what it reports and the model bytes sent to it.
func (d *DB) RolloutTargets(ctx context.Context, id string) ([]RolloutTarget, error) {
	rows, err := d.sql.QueryContext(ctx, d.rebind(`SELECT t.device, t.wave, t.version, t.state, t.detail, t.prev, t.updated_at,
		p.device, COALESCE(p.version, 0), COALESCE(p.model_sha256, ''), COALESCE(p.state, ''), COALESCE(p.pending_version, 0),
		COALESCE(p.failed_version, 0), COALESCE(p.last_error, ''), COALESCE(p.fetched_bytes, 0), COALESCE(p.fetch_size, 0), p.updated_at,
		COALESCE(a.bytes, 0)
		FROM rollout_devices t JOIN rollouts r ON r.id = t.rollout
		LEFT JOIN device_reported p ON p.device = t.device
		LEFT JOIN artifact_deliveries a ON a.device = t.device AND a.sha256 = r.model_sha256
		WHERE t.rollout = ? ORDER BY t.wave, t.device`), id)
	if err != nil {
		return nil, fmt.Errorf("rollout devices: %w", err)
	}
	defer rows.Close()
	var out []RolloutTarget
	for rows.Next() {
		var x RolloutTarget
		var p Reported
		var pdev sql.NullString
		if err := rows.Scan(&x.Device, &x.Wave, &x.Version, &x.State, &x.Detail, &x.Prev, timeCol{&x.UpdatedAt},
			&pdev, &p.Version, &p.ModelSHA256, &p.State, &p.PendingVersion, &p.FailedVersion, &p.LastError, &p.FetchedBytes, &p.FetchSize,
			timeCol{&p.UpdatedAt}, &x.BytesSent); err != nil {
			return nil, fmt.Errorf("rollout devices: %w", err)
		}
		if pdev.Valid {
			p.Device = pdev.String
			x.Reported = &p
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// SetRolloutState moves rollout id from one of the states from to state
// to, with reason; it reports whether it did (false: it was in another
// state, such as another receiver having moved it first).
func (d *DB) SetRolloutState(ctx context.Context, id string, from []string, to, reason string) (bool, error) {
	if len(from) == 0 {
		return false, fmt.Errorf("set rollout state: %w: no state to move from", ErrInvalid)
	}
	args := []any{to, reason, d.ts(now()), id}
	for _, s := range from {
		args = append(args, s)
	}
	res, err := d.sql.ExecContext(ctx, d.rebind(`UPDATE rollouts SET state = ?, reason = ?, updated_at = ?
		WHERE id = ? AND state IN (?`+strings.Repeat(", ?", len(from)-1)+`)`), args...)
	if err != nil {
		return false, fmt.Errorf("set rollout state: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetTargetState records the state of device in rollout id.
func (d *DB) SetTargetState(ctx context.Context, id, device, state, detail string) error {
	_, err := d.sql.ExecContext(ctx, d.rebind(`UPDATE rollout_devices SET state = ?, detail = ?, updated_at = ? WHERE rollout = ? AND device = ?`),
		state, detail, d.ts(now()), id, device)
	if err != nil {
		return fmt.Errorf("set rollout device state: %w", err)
	}
	return nil
}

// BuildDesired makes a device's next desired document from its current one
// (nil: none) and, for a withdrawal, the one it had before the rollout
// (JSON, "" for none). The returned document's version must be above the
// current one's.
type BuildDesired func(device string, cur *DesiredDoc, before string) (DesiredDoc, error)

// WaveMove moves a running rollout from From waves sent to To (To 0: no
// move).
type WaveMove struct{ From, To int }

// SendDesired changes, in one transaction, the desired documents of
// devices of rollout id (build makes each) and records them with state in
// the rollout; the first change of a device keeps its document before.
// With move.To > 0 it first moves the rollout, which must be running, from
// move.From waves sent to move.To, and reports false without changing
// anything when another process did that first. The documents' updated_at
// moves, so that every receiver publishes them (ListDesired).
func (d *DB) SendDesired(ctx context.Context, id string, move WaveMove, state string, devices []string, build BuildDesired) (bool, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("send desired: %w", err)
	}
	defer tx.Rollback()
	t := now()
	if move.To > 0 {
		res, err := tx.ExecContext(ctx, d.rebind(`UPDATE rollouts SET wave = ?, wave_started_at = ?, updated_at = ?
			WHERE id = ? AND wave = ? AND state = ?`), move.To, d.ts(t), d.ts(t), id, move.From, RolloutRunning)
		if err != nil {
			return false, fmt.Errorf("send desired: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return false, nil
		}
	}
	lock := ""
	if d.dialect == Postgres {
		lock = ` FOR UPDATE`
	}
	for _, dev := range devices {
		var before string
		var sent int64
		if err := tx.QueryRowContext(ctx, d.rebind(`SELECT prev, version FROM rollout_devices WHERE rollout = ? AND device = ?`), id, dev).Scan(&before, &sent); err != nil {
			return false, fmt.Errorf("send desired to %s: %w", dev, err)
		}
		var cur *DesiredDoc
		x, err := scanDesired(tx.QueryRowContext(ctx, d.rebind(`SELECT `+desiredCols+` FROM desired_docs WHERE device = ?`+lock), dev))
		switch {
		case err == nil:
			cur = &x
		case !errors.Is(err, sql.ErrNoRows):
			return false, fmt.Errorf("send desired to %s: %w", dev, err)
		}
		next, err := build(dev, cur, before)
		if err != nil {
			return false, fmt.Errorf("send desired to %s: %w", dev, err)
		}
		if cur != nil && next.Version <= cur.Version {
			return false, fmt.Errorf("send desired to %s: %w: version %d after %d", dev, ErrInvalid, next.Version, cur.Version)
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO desired_docs (`+desiredCols+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (device) DO UPDATE SET version = excluded.version, doc = excluded.doc, payload = excluded.payload,
			rollout = excluded.rollout, updated_at = excluded.updated_at`),
			dev, next.Version, next.Doc, next.Payload, next.Rollout, d.ts(t)); err != nil {
			return false, fmt.Errorf("send desired to %s: %w", dev, err)
		}
		if sent == 0 && cur != nil {
			before = cur.Doc
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE rollout_devices SET version = ?, state = ?, prev = ?, updated_at = ?
			WHERE rollout = ? AND device = ?`), next.Version, state, before, d.ts(t), id, dev); err != nil {
			return false, fmt.Errorf("send desired to %s: %w", dev, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("send desired: %w", err)
	}
	return true, nil
}
