package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Artifact is a file the cloud delivers to devices (a model), kept in
// chunks of ChunkSize bytes (the last may be shorter).
type Artifact struct {
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	ChunkSize int       `json:"chunk_size"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// PutArtifact stores a, reading its bytes from r one chunk at a time, in
// one transaction that commits only when r gave a.Size bytes whose SHA-256
// is a.SHA256. An artifact stored before is left as it is (nil).
func (d *DB) PutArtifact(ctx context.Context, a Artifact, r io.Reader) error {
	if len(a.SHA256) != 64 || a.Size < 1 || a.ChunkSize < 1 {
		return fmt.Errorf("put artifact: %w: sha256 %q, size %d, chunk size %d", ErrInvalid, a.SHA256, a.Size, a.ChunkSize)
	}
	if _, err := d.GetArtifact(ctx, a.SHA256); err == nil {
		return nil
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now()
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put artifact: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO artifacts (sha256, size, chunk_size, name, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (sha256) DO NOTHING`), a.SHA256, a.Size, a.ChunkSize, a.Name, d.ts(a.CreatedAt)); err != nil {
		return fmt.Errorf("put artifact: %w", err)
	}
	h := sha256.New()
	buf := make([]byte, a.ChunkSize)
	var total int64
	for i := 0; ; i++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			total += int64(n)
			if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO artifact_chunks (sha256, idx, data) VALUES (?, ?, ?)
				ON CONFLICT (sha256, idx) DO NOTHING`), a.SHA256, i, buf[:n]); err != nil {
				return fmt.Errorf("put artifact chunk %d: %w", i, err)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("put artifact: read: %w", err)
		}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); total != a.Size || sum != a.SHA256 {
		return fmt.Errorf("put artifact: %w: read %d bytes of sha256 %s, want %d of %s", ErrInvalid, total, sum, a.Size, a.SHA256)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put artifact: %w", err)
	}
	return nil
}

// GetArtifact returns the artifact sha; ErrNotFound.
func (d *DB) GetArtifact(ctx context.Context, sha string) (Artifact, error) {
	var a Artifact
	err := d.sql.QueryRowContext(ctx, d.rebind(`SELECT sha256, size, chunk_size, name, created_at FROM artifacts WHERE sha256 = ?`), sha).
		Scan(&a.SHA256, &a.Size, &a.ChunkSize, &a.Name, timeCol{&a.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return Artifact{}, fmt.Errorf("artifact %.12s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return Artifact{}, fmt.Errorf("get artifact: %w", err)
	}
	return a, nil
}

// ArtifactChunks returns the chunks idx of artifact sha, by index (absent:
// no such chunk).
func (d *DB) ArtifactChunks(ctx context.Context, sha string, idx []int) (map[int][]byte, error) {
	out := map[int][]byte{}
	if len(idx) == 0 {
		return out, nil
	}
	args := []any{sha}
	for _, i := range idx {
		args = append(args, i)
	}
	q := `SELECT idx, data FROM artifact_chunks WHERE sha256 = ? AND idx IN (?` + strings.Repeat(", ?", len(idx)-1) + `)`
	rows, err := d.sql.QueryContext(ctx, d.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("artifact chunks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var b []byte
		if err := rows.Scan(&i, &b); err != nil {
			return nil, fmt.Errorf("artifact chunks: %w", err)
		}
		out[i] = b
	}
	return out, rows.Err()
}

// AddDelivery counts chunks (of n bytes of the artifact in all, frame
// headers not counted) of artifact sha sent to device in answer to one
// request.
func (d *DB) AddDelivery(ctx context.Context, device, sha string, chunks int, n int64) error {
	_, err := d.sql.ExecContext(ctx, d.rebind(`INSERT INTO artifact_deliveries (device, sha256, requests, chunks, bytes, updated_at)
		VALUES (?, ?, 1, ?, ?, ?)
		ON CONFLICT (device, sha256) DO UPDATE SET requests = artifact_deliveries.requests + 1,
		chunks = artifact_deliveries.chunks + excluded.chunks, bytes = artifact_deliveries.bytes + excluded.bytes,
		updated_at = excluded.updated_at`), device, sha, chunks, n, d.ts(now()))
	if err != nil {
		return fmt.Errorf("add delivery: %w", err)
	}
	return nil
}
