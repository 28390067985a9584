package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DesiredDoc is a device's current desired document: Doc is the JSON of
// the document (wire.Desired), Payload the signed message published for
// it, retained, on the device's desired topic.
type DesiredDoc struct {
	Device    string    `json:"device"`
	Version   int64     `json:"version"`
	Doc       string    `json:"doc"`
	Payload   string    `json:"-"`
	Rollout   string    `json:"rollout,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

const desiredCols = `device, version, doc, payload, rollout, updated_at`

func scanDesired(r scanner) (DesiredDoc, error) {
	var x DesiredDoc
	err := r.Scan(&x.Device, &x.Version, &x.Doc, &x.Payload, &x.Rollout, timeCol{&x.UpdatedAt})
	return x, err
}

// GetDesired returns device's desired document; ErrNotFound.
func (d *DB) GetDesired(ctx context.Context, device string) (DesiredDoc, error) {
	x, err := scanDesired(d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+desiredCols+` FROM desired_docs WHERE device = ?`), device))
	if errors.Is(err, sql.ErrNoRows) {
		return DesiredDoc{}, fmt.Errorf("desired document of %q: %w", device, ErrNotFound)
	}
	if err != nil {
		return DesiredDoc{}, fmt.Errorf("get desired document: %w", err)
	}
	return x, nil
}

// ListDesired returns the desired documents changed at or after since
// (the zero time: all), oldest change first.
func (d *DB) ListDesired(ctx context.Context, since time.Time) ([]DesiredDoc, error) {
	rows, err := d.sql.QueryContext(ctx, d.rebind(`SELECT `+desiredCols+` FROM desired_docs WHERE updated_at >= ? ORDER BY updated_at, device`), d.ts(since))
	if err != nil {
		return nil, fmt.Errorf("list desired documents: %w", err)
	}
	defer rows.Close()
	var out []DesiredDoc
	for rows.Next() {
		x, err := scanDesired(rows)
		if err != nil {
			return nil, fmt.Errorf("list desired documents: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Reported is what a device last reported of its desired state (the
// fields of wire.Reported, from its status message).
type Reported struct {
	Device         string    `json:"-"`
	Version        int64     `json:"version"`
	ModelSHA256    string    `json:"model_sha256"`
	State          string    `json:"state"`
	PendingVersion int64     `json:"pending_version,omitempty"`
	FailedVersion  int64     `json:"failed_version,omitempty"`
	LastError      string    `json:"last_error"`
	FetchedBytes   int64     `json:"fetched_bytes,omitempty"`
	FetchSize      int64     `json:"fetch_size,omitempty"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

// UpdateReported records what r.Device reports.
func (d *DB) UpdateReported(ctx context.Context, r Reported) error {
	if err := ValidDevice(r.Device); err != nil {
		return fmt.Errorf("update reported: %w", err)
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now()
	}
	_, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO device_reported (device, version, model_sha256, state, pending_version,
		failed_version, last_error, fetched_bytes, fetch_size, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (device) DO UPDATE SET version = excluded.version, model_sha256 = excluded.model_sha256,
		state = excluded.state, pending_version = excluded.pending_version, failed_version = excluded.failed_version,
		last_error = excluded.last_error, fetched_bytes = excluded.fetched_bytes, fetch_size = excluded.fetch_size,
		updated_at = excluded.updated_at`),
		r.Device, r.Version, r.ModelSHA256, r.State, r.PendingVersion, r.FailedVersion, r.LastError, r.FetchedBytes, r.FetchSize, d.ts(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("update reported %q: %w", r.Device, err)
	}
	return nil
}

// DeviceState is a device's desired document and what it reports, side by
// side (nil: none).
type DeviceState struct {
	Desired  *DesiredDoc
	Reported *Reported
}

// DeviceStates returns the desired and reported state of every device
// that has either, by device id.
func (d *DB) DeviceStates(ctx context.Context) (map[string]DeviceState, error) {
	out := map[string]DeviceState{}
	docs, err := d.ListDesired(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	for _, x := range docs {
		out[x.Device] = DeviceState{Desired: &x}
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT device, version, model_sha256, state, pending_version, failed_version,
		last_error, fetched_bytes, fetch_size, updated_at FROM device_reported`)
	if err != nil {
		return nil, fmt.Errorf("device states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Reported
		if err := rows.Scan(&r.Device, &r.Version, &r.ModelSHA256, &r.State, &r.PendingVersion, &r.FailedVersion,
			&r.LastError, &r.FetchedBytes, &r.FetchSize, timeCol{&r.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("device states: %w", err)
		}
		s := out[r.Device]
		s.Reported = &r
		out[r.Device] = s
	}
	return out, rows.Err()
}
