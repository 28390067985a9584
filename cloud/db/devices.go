package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// UpdateDevice records a device's status message: online, outbox depth and
// version as it says; last seen moves forward only. A device not seen
// before is added.
func (d *DB) UpdateDevice(ctx context.Context, s DeviceStatus) error {
	return d.UpdateDevices(ctx, []DeviceStatus{s})
}

// UpdateDevices records the status messages of several devices, each as
// UpdateDevice does, in one statement (a receiver gathers them at fleet
// scale); a device appears at most once. Invalid ones (ErrInvalid) are left
// out and reported; the others are written.
func (d *DB) UpdateDevices(ctx context.Context, ss []DeviceStatus) error {
	var errs []error
	var rows []string
	var args []any
	for _, s := range ss {
		if err := ValidDevice(s.Device); err != nil {
			errs = append(errs, fmt.Errorf("update device: %w", err))
			continue
		}
		if s.OutboxDepth < 0 || s.Evictions < 0 || s.Refused < 0 || s.DeadLetters < 0 {
			errs = append(errs, fmt.Errorf("update device %q: %w: negative outbox figures", s.Device, ErrInvalid))
			continue
		}
		seen := s.Seen
		if seen.IsZero() {
			seen = now()
		}
		rows = append(rows, "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, s.Device, d.ts(seen), d.ts(seen), s.Online, s.OutboxDepth, s.Evictions, s.Refused, s.DeadLetters, s.Version)
	}
	if len(rows) > 0 {
		_, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO devices (id, first_seen, last_seen, online, outbox_depth,
		evictions, refused, dead_letters, version)
		VALUES `+strings.Join(rows, ", ")+`
		ON CONFLICT (id) DO UPDATE SET
		last_seen = CASE WHEN excluded.last_seen > devices.last_seen THEN excluded.last_seen ELSE devices.last_seen END,
		online = excluded.online, outbox_depth = excluded.outbox_depth,
		evictions = excluded.evictions, refused = excluded.refused, dead_letters = excluded.dead_letters,
		version = CASE WHEN excluded.version = '' THEN devices.version ELSE excluded.version END`), args...)
		if err != nil {
			if len(ss) == 1 {
				return fmt.Errorf("update device %q: %w", ss[0].Device, err)
			}
			return fmt.Errorf("update %d devices: %w", len(rows), err)
		}
	}
	return errors.Join(errs...)
}

// ListDevices returns every device, by id, with the number of its images.
func (d *DB) ListDevices(ctx context.Context) ([]Device, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT d.id, d.first_seen, d.last_seen, d.online, d.outbox_depth,
		d.evictions, d.refused, d.dead_letters, d.version,
		(SELECT COUNT(*) FROM images i WHERE i.device = d.id)
		FROM devices d ORDER BY d.id`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	devs := []Device{}
	for rows.Next() {
		var v Device
		if err := rows.Scan(&v.ID, timeCol{&v.FirstSeen}, timeCol{&v.LastSeen}, &v.Online, &v.OutboxDepth, &v.Evictions, &v.Refused, &v.DeadLetters, &v.Version, &v.Images); err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		devs = append(devs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devs, nil
}
