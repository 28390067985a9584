package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Roles of a Credential.
const (
	RoleDevice   = "device"   // a field unit: its own item, status and ack topics
	RoleReceiver = "receiver" // a cloud receiver: every item and status, every ack
	RoleProducer = "producer" // a producer of the earlier pipeline: the compat topics
)

// Credential is one MQTT identity.
type Credential struct {
	Username     string     `json:"username"` // the device id, for a device
	Role         string     `json:"role"`
	PasswordHash string     `json:"-"`                     // PBKDF2-SHA512, Mosquitto's "$7$" format
	CertSerial   string     `json:"cert_serial,omitempty"` // the client certificate issued, hex
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

// Revoked reports whether c is revoked.
func (c Credential) Revoked() bool { return c.RevokedAt != nil }

// AddCredential stores a new identity; ErrExists if its username is taken
// (revoked identities included: a revoked name is not given out again).
func (d *DB) AddCredential(ctx context.Context, c Credential) error {
	switch c.Role {
	case RoleDevice:
		if err := ValidDevice(c.Username); err != nil {
			return fmt.Errorf("add credential: %w", err)
		}
	case RoleReceiver, RoleProducer:
		if err := ValidDevice(c.Username); err != nil { // the same character set
			return fmt.Errorf("add credential: %w", err)
		}
	default:
		return fmt.Errorf("add credential %q: %w: role %q is not device, receiver or producer", c.Username, ErrInvalid, c.Role)
	}
	if c.PasswordHash == "" {
		return fmt.Errorf("add credential %q: %w: no password hash", c.Username, ErrInvalid)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	res, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO credentials (username, role, password_hash, cert_serial, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`),
		c.Username, c.Role, c.PasswordHash, c.CertSerial, d.ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("add credential %q: %w", c.Username, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("add credential %q: %w", c.Username, ErrExists)
	}
	return nil
}

const credentialCols = `username, role, password_hash, cert_serial, created_at, revoked_at`

func scanCredential(r scanner) (Credential, error) {
	var c Credential
	var revoked time.Time
	if err := r.Scan(&c.Username, &c.Role, &c.PasswordHash, &c.CertSerial, timeCol{&c.CreatedAt}, timeCol{&revoked}); err != nil {
		return Credential{}, err
	}
	if !revoked.IsZero() {
		c.RevokedAt = &revoked
	}
	return c, nil
}

// GetCredential returns the identity username; ErrNotFound.
func (d *DB) GetCredential(ctx context.Context, username string) (Credential, error) {
	c, err := scanCredential(d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+credentialCols+` FROM credentials WHERE username = ?`), username))
	if errors.Is(err, sql.ErrNoRows) {
		return Credential{}, fmt.Errorf("credential %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("credential %q: %w", username, err)
	}
	return c, nil
}

// ListCredentials returns every identity, revoked ones included, by username.
func (d *DB) ListCredentials(ctx context.Context) ([]Credential, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+credentialCols+` FROM credentials ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	defer rows.Close()
	out := []Credential{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("list credentials: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return out, nil
}

// RevokeCredential revokes the identity username (it is refused from then
// on); ErrNotFound. Revoking again keeps the first time.
func (d *DB) RevokeCredential(ctx context.Context, username string) error {
	res, err := d.sql.ExecContext(ctx, d.rebind(`UPDATE credentials SET revoked_at = COALESCE(revoked_at, ?) WHERE username = ?`),
		d.ts(now()), username)
	if err != nil {
		return fmt.Errorf("revoke %q: %w", username, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke %q: %w", username, ErrNotFound)
	}
	return nil
}

// CloudKey returns the cloud's secret called name, making it with make
// and storing it when there is none yet. Of receivers starting at once, all
// get the one that was stored first.
func (d *DB) CloudKey(ctx context.Context, name string, make func() (secret []byte, public string, err error)) ([]byte, string, error) {
	get := func() ([]byte, string, error) {
		var secret []byte
		var public string
		err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT secret, public FROM cloud_keys WHERE name = ?`), name).Scan(&secret, &public)
		return secret, public, err
	}
	secret, public, err := get()
	if err == nil {
		return secret, public, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("cloud key %q: %w", name, err)
	}
	s, p, err := make()
	if err != nil {
		return nil, "", fmt.Errorf("make cloud key %q: %w", name, err)
	}
	if _, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO cloud_keys (name, secret, public, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), name, s, p, d.ts(now())); err != nil {
		return nil, "", fmt.Errorf("store cloud key %q: %w", name, err)
	}
	secret, public, err = get()
	if err != nil {
		return nil, "", fmt.Errorf("cloud key %q: %w", name, err)
	}
	return secret, public, nil
}
