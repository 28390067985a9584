package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/canopy-forest/canopy/cloud/db"
)

// TokenLookup finds a token by the SHA-256 of its secret.
type TokenLookup interface {
	LookupToken(ctx context.Context, hash string) (db.Token, error)
}

// HashToken is the hex SHA-256 of a token's secret, as stored.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// NewToken returns a new random secret ("cnp_" and 43 base-32 characters).
func NewToken() string {
	return "cnp_" + strings.ToLower(rand.Text()) + strings.ToLower(rand.Text())[:17]
}

// authMiddleware asks every /v1 request for a bearer token: 401 without a
// valid one, 403 when a read token writes. Other paths (health, metrics,
// the dashboard's files) stay open.
func authMiddleware(tokens TokenLookup, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !isV1(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			secret = strings.TrimSpace(secret)
			if !ok || secret == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="canopy"`)
				writeError(w, http.StatusUnauthorized, "missing bearer token (Authorization: Bearer <token>; create one with canopy-cloud token create)")
				return
			}
			t, err := tokens.LookupToken(r.Context(), HashToken(secret))
			if errors.Is(err, db.ErrNotFound) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="canopy", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, "invalid token")
				return
			}
			if err != nil {
				log.Error("token lookup", "err", err)
				writeError(w, http.StatusInternalServerError, "token lookup failed")
				return
			}
			write := r.Method != http.MethodGet && r.Method != http.MethodHead
			if write && t.Scope != db.ScopeWrite {
				w.Header().Set("WWW-Authenticate", `Bearer realm="canopy", error="insufficient_scope", scope="write"`)
				writeError(w, http.StatusForbidden, "this token has scope "+t.Scope+"; write needed")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
