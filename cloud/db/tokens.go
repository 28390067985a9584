package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token scopes.
const (
	ScopeRead    = "read"
	ScopeWrite   = "write"   // includes read
	ScopeMetrics = "metrics" // GET /metrics only
	ScopeAdmin   = "admin"   // everything: write, metrics and the audit trail
)

// ValidScope reports whether s is one of the token scopes.
func ValidScope(s string) bool {
	switch s {
	case ScopeRead, ScopeWrite, ScopeMetrics, ScopeAdmin:
		return true
	}
	return false
}

// Token states, as Token.State reports them.
const (
	TokenActive  = "active"
	TokenExpired = "expired"
	TokenRevoked = "revoked"
)

// Token is an API token, stored as the hash of its secret.
type Token struct {
	Hash  string `json:"hash"`
	Scope string `json:"scope"`
	Name  string `json:"name,omitempty"`
	// Device binds the token to one device: it may upload only for that
	// device. "": not bound.
	Device     string    `json:"device,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`   // zero: never expires
	RevokedAt  time.Time `json:"revoked_at,omitzero"`   // zero: not revoked
	LastUsedAt time.Time `json:"last_used_at,omitzero"` // zero: never used (recorded at most once a minute)
}

// TokenIDLen is the length of a token's id: the first hex digits of its hash.
const TokenIDLen = 12

// ID is the token's short name in lists, logs and `token revoke`: the first
// TokenIDLen hex digits of its hash (not a secret, and not enough to find
// the secret).
func (t Token) ID() string {
	if len(t.Hash) <= TokenIDLen {
		return t.Hash
	}
	return t.Hash[:TokenIDLen]
}

// State says whether the token is usable at a time: TokenActive,
// TokenExpired (ExpiresAt is at or before at) or TokenRevoked (revocation
// wins over expiry).
func (t Token) State(at time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return TokenRevoked
	case !t.ExpiresAt.IsZero() && !at.Before(t.ExpiresAt):
		return TokenExpired
	}
	return TokenActive
}

// CreateToken stores a token (its hash, never the secret). A zero CreatedAt
// means now; a zero ExpiresAt never expires; Device binds the token to one
// device ("" none). RevokedAt and LastUsedAt are not taken: RevokeToken and
// TouchToken set them. A hash already stored is an error.
func (d *DB) CreateToken(ctx context.Context, t Token) error {
	var errs []error
	if t.Hash == "" || len(t.Hash) > 256 {
		errs = append(errs, errors.New("hash must be 1 to 256 characters"))
	}
	if !ValidScope(t.Scope) {
		errs = append(errs, fmt.Errorf("scope %q is not read, write, metrics or admin", t.Scope))
	}
	if len(t.Name) > 128 {
		errs = append(errs, errors.New("name longer than 128 bytes"))
	}
	if t.Device != "" {
		if err := ValidDevice(t.Device); err != nil {
			errs = append(errs, err)
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	if !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(t.CreatedAt) {
		errs = append(errs, fmt.Errorf("expiry %s is not after creation %s", t.ExpiresAt.UTC().Format(time.RFC3339), t.CreatedAt.UTC().Format(time.RFC3339)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("create token %q: %w: %v", t.Name, ErrInvalid, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if _, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO tokens (hash, scope, name, device, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		t.Hash, t.Scope, t.Name, t.Device, d.ts(t.CreatedAt), d.nullTS(t.ExpiresAt)); err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return nil
}

// tokenCols are the columns scanned by scanToken, in its order.
const tokenCols = `hash, scope, name, device, created_at, expires_at, revoked_at, last_used_at`

func scanToken(s scanner) (Token, error) {
	var t Token
	err := s.Scan(&t.Hash, &t.Scope, &t.Name, &t.Device, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.RevokedAt}, timeCol{&t.LastUsedAt})
	return t, err
}

// LookupToken finds a token by the hash of its secret, revoked and expired
// ones included (Token.State tells them); ErrNotFound.
func (d *DB) LookupToken(ctx context.Context, hash string) (Token, error) {
	t, err := scanToken(d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+tokenCols+` FROM tokens WHERE hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("lookup token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("lookup token: %w", err)
	}
	return t, nil
}

// ListTokens returns every token, revoked and expired ones included, oldest
// first.
func (d *DB) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at, hash`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	ts := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken marks a token revoked now; from then on it is refused. The
// token stays listed. revoked is false when it was revoked already (its
// revocation time is kept); ErrNotFound if there is none with that hash.
func (d *DB) RevokeToken(ctx context.Context, hash string) (revoked bool, err error) {
	res, err := d.sql.ExecContext(ctx, d.rebind(`UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL`), d.ts(now()), hash)
	if err != nil {
		return false, fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	if _, err := d.LookupToken(ctx, hash); err != nil {
		return false, fmt.Errorf("revoke token: %w", ErrNotFound)
	}
	return false, nil
}

// TouchToken records that a token was used at a time; the recorded time
// only moves forward. A hash with no token is not an error.
func (d *DB) TouchToken(ctx context.Context, hash string, at time.Time) error {
	_, err := d.sql.ExecContext(ctx, d.rebind(`UPDATE tokens SET last_used_at = ? WHERE hash = ? AND (last_used_at IS NULL OR last_used_at < ?)`),
		d.ts(at), hash, d.ts(at))
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// DeleteToken removes a token altogether (RevokeToken keeps it listed);
// ErrNotFound if there is none with that hash.
func (d *DB) DeleteToken(ctx context.Context, hash string) error {
	res, err := d.sql.ExecContext(ctx, d.rebind(`DELETE FROM tokens WHERE hash = ?`), hash)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete token: %w", ErrNotFound)
	}
	return nil
}

// nullTS is ts, or SQL NULL for the zero time.
func (d *DB) nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.ts(t)
}
