package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audit actions: what an entry of the trail records.
const (
	AuditDeviceAdd     = "device.add"     // subject: the identity; detail: role, certificate
	AuditDeviceRevoke  = "device.revoke"  // subject: the identity
	AuditTokenCreate   = "token.create"   // subject: the token id; detail: scope, name, device, expiry
	AuditTokenRevoke   = "token.revoke"   // subject: the token id
	AuditDevicePurge   = "device.purge"   // subject: the identity; detail: what was deleted
	AuditRecount       = "recount"        // subject: the scan, or "since TIME"; detail: method, model, images queued
	AuditRolloutCreate = "rollout.create" // subject: the rollout
	AuditRolloutAbort  = "rollout.abort"  // subject: the rollout
	AuditRolloutPause  = "rollout.pause"  // subject: the rollout
	AuditRolloutResume = "rollout.resume" // subject: the rollout
	AuditRolloutHalt   = "rollout.halt"   // subject: the rollout; detail: why (by the receiver, who "serve")
	AuditUpload        = "image.upload"   // subject: the item id; detail: scan, device, bytes
	AuditExport        = "scan.export"    // subject: the scan; detail: format, destination
)

// AuditEntry is one entry of the audit trail.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"` // set by Audit
	// Who made the change: "token:<id> (<name>)" for the HTTP API,
	// "cli:<user>@<host>" for the command line.
	Who     string `json:"who"`
	Action  string `json:"action"`  // one of the Audit* constants
	Subject string `json:"subject"` // what it acted on: an identity, a token id, an item, a scan
	Detail  string `json:"detail"`  // the rest, for a person to read
}

// Audit appends e to the audit trail (e.ID and e.At are set by the
// database and the clock). Entries are never updated or deleted: the
// database refuses it. Record a change after it succeeded:
//
//	d.Audit(ctx, db.AuditEntry{Who: who, Action: db.AuditRolloutCreate, Subject: id, Detail: "model x.onnx to 12 devices"})
func (d *DB) Audit(ctx context.Context, e AuditEntry) error {
	var errs []error
	if e.Who == "" || len(e.Who) > 256 {
		errs = append(errs, errors.New("who must be 1 to 256 bytes"))
	}
	if e.Action == "" || len(e.Action) > 64 {
		errs = append(errs, errors.New("action must be 1 to 64 bytes"))
	}
	if len(e.Subject) > 256 || len(e.Detail) > 4096 {
		errs = append(errs, errors.New("subject (256 bytes) or detail (4096 bytes) too long"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("audit %s: %w: %v", e.Action, ErrInvalid, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if _, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO audit (at, who, action, subject, detail) VALUES (?, ?, ?, ?, ?)`),
		d.ts(now()), e.Who, e.Action, e.Subject, e.Detail); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditQuery selects entries of the trail.
type AuditQuery struct {
	Since time.Time // entries at or after it (zero: from the start)
	Limit int       // at most this many, the oldest first (0: 1000)
}

// ListAudit returns the entries q selects, oldest first.
func (d *DB) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	rows, err := d.sql.QueryContext(ctx, d.rebind(`SELECT id, at, who, action, subject, detail FROM audit
		WHERE at >= ? ORDER BY id LIMIT ?`), d.ts(q.Since), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	es := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, timeCol{&e.At}, &e.Who, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return es, nil
}
