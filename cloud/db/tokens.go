package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CreateToken stores a token (its hash, never the secret). A zero CreatedAt
// means now; a hash already stored is an error.
func (d *DB) CreateToken(ctx context.Context, t Token) error {
	if t.Hash == "" || len(t.Hash) > 256 {
		return fmt.Errorf("create token: %w: hash must be 1 to 256 characters", ErrInvalid)
	}
	if t.Scope != ScopeRead && t.Scope != ScopeWrite {
		return fmt.Errorf("create token: %w: scope %q is not read or write", ErrInvalid, t.Scope)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	if _, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO tokens (hash, scope, name, created_at) VALUES (?, ?, ?, ?)`),
		t.Hash, t.Scope, t.Name, d.ts(t.CreatedAt)); err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return nil
}

// LookupToken finds a token by the hash of its secret; ErrNotFound.
func (d *DB) LookupToken(ctx context.Context, hash string) (Token, error) {
	t := Token{Hash: hash}
	err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT scope, name, created_at FROM tokens WHERE hash = ?`), hash).
		Scan(&t.Scope, &t.Name, timeCol{&t.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("lookup token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("lookup token: %w", err)
	}
	return t, nil
}

// ListTokens returns every token (hashes, scopes, names), oldest first.
func (d *DB) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT hash, scope, name, created_at FROM tokens ORDER BY created_at, hash`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	ts := []Token{}
	for rows.Next() {
		var t Token
		if err := rows.Scan(&t.Hash, &t.Scope, &t.Name, timeCol{&t.CreatedAt}); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// DeleteToken revokes a token; ErrNotFound if there is none with that hash.
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
