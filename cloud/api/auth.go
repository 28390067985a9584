package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// TokenLookup finds a token by the SHA-256 of its secret, and records when
// it was used.
type TokenLookup interface {
	LookupToken(ctx context.Context, hash string) (db.Token, error)
	TouchToken(ctx context.Context, hash string, at time.Time) error
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

// touchEvery is how often a token's last use is written: at most once per
// token and process in this interval, so that a busy token costs no write
// per request.
const touchEvery = time.Minute

// auth checks the bearer tokens of /v1 requests.
type auth struct {
	tokens TokenLookup
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	touched map[string]time.Time // hash: when its last use was last written
}

func newAuth(tokens TokenLookup, log *slog.Logger, now func() time.Time) *auth {
	if now == nil {
		now = time.Now
	}
	return &auth{tokens: tokens, log: log, now: now, touched: map[string]time.Time{}}
}

// middleware asks every /v1 request, and GET /metrics, for a bearer token:
// 401 without one, with an unknown one, or with an expired or revoked one
// (each logged); 403 when the token's scope does not cover the request
// (needScope). The token goes into the request's context (tokenFrom) for
// the handlers' own checks (uploads for a device) and the audit trail.
// Other paths (health, the dashboard's files) stay open.
func (a *auth) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		need := needScope(r)
		if need == "" {
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
		hash := HashToken(secret)
		t, err := a.tokens.LookupToken(r.Context(), hash)
		if errors.Is(err, db.ErrNotFound) {
			a.log.Warn("token refused", "reason", "unknown", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			refuse(w, "unknown", "invalid token: no such token (create one with canopy-cloud token create)")
			return
		}
		if err != nil {
			a.log.Error("token lookup", "err", err)
			writeError(w, http.StatusInternalServerError, "token lookup failed")
			return
		}
		now := a.now()
		switch state := t.State(now); state {
		case db.TokenRevoked, db.TokenExpired:
			at := t.RevokedAt
			what := "was revoked"
			if state == db.TokenExpired {
				at, what = t.ExpiresAt, "expired"
			}
			a.log.Warn("token refused", "reason", state, "token", t.ID(), "name", t.Name, "at", at,
				"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			refuse(w, state, fmt.Sprintf("token %s%s %s at %s; ask for a new one (canopy-cloud token create)",
				t.ID(), quotedName(t.Name), what, at.UTC().Format(time.RFC3339)))
			return
		}
		if !scopeCovers(t.Scope, need) {
			a.log.Warn("token refused", "reason", "scope", "token", t.ID(), "name", t.Name, "scope", t.Scope, "need", need,
				"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="canopy", error="insufficient_scope", scope=%q`, need))
			writeError(w, http.StatusForbidden, fmt.Sprintf("this token has scope %s; %s needed (canopy-cloud token create --scope %s)", t.Scope, need, need))
			return
		}
		a.touch(r.Context(), t, now)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	})
}

// needScope is the token scope a request needs: metrics for GET /metrics,
// admin for the audit trail, write for other /v1 requests that change
// something, read for the rest of /v1; "" (no token) for everything else.
func needScope(r *http.Request) string {
	switch {
	case r.URL.Path == "/metrics":
		return db.ScopeMetrics
	case r.URL.Path == "/v1/audit":
		return db.ScopeAdmin
	case !isV1(r.URL.Path):
		return ""
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return db.ScopeWrite
	}
	return db.ScopeRead
}

// scopeCovers reports whether a token of scope has what need asks: admin
// has everything, write includes read, metrics is only metrics.
func scopeCovers(scope, need string) bool {
	switch scope {
	case db.ScopeAdmin:
		return true
	case db.ScopeWrite:
		return need == db.ScopeWrite || need == db.ScopeRead
	}
	return scope == need
}

// refuse answers 401 for a token that is not usable.
func refuse(w http.ResponseWriter, reason, msg string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="canopy", error="invalid_token", error_description="token %s"`, reason))
	writeError(w, http.StatusUnauthorized, msg)
}

func quotedName(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", name)
}

// touch records the token's use, at most once per touchEvery; a failure is
// logged and does not fail the request.
func (a *auth) touch(ctx context.Context, t db.Token, now time.Time) {
	a.mu.Lock()
	last, ok := a.touched[t.Hash]
	due := !ok || now.Sub(last) >= touchEvery
	if due {
		a.touched[t.Hash] = now
	}
	a.mu.Unlock()
	if !due {
		return
	}
	if err := a.tokens.TouchToken(ctx, t.Hash, now); err != nil {
		a.log.Warn("record token use", "token", t.ID(), "err", err)
	}
}

type tokenKey struct{}

// tokenFrom is the token that authenticated the request; false when
// authentication is off.
func tokenFrom(ctx context.Context) (db.Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(db.Token)
	return t, ok
}

// uploadDevice decides the device an upload is stored under, from the
// device its metadata names and the token that sent it:
//
//   - a token bound to a device uploads only for that device: naming
//     another is refused, naming none means its own;
//   - a token bound to no device uploads only images that name no device:
//     naming one is refused (only that device's bound token speaks for it).
//
// A refusal is a 403 UploadError.
func uploadDevice(t db.Token, named string) (string, error) {
	switch {
	case t.Device == "" && named == "":
		return "", nil
	case t.Device == "":
		return "", bad(http.StatusForbidden, "token %s is bound to no device, so it may not upload for device %q: "+
			"uploads for a device need a token bound to it (canopy-cloud token create --scope write --device %s)", t.ID(), named, named)
	case named == "" || named == t.Device:
		return t.Device, nil
	default:
		return "", bad(http.StatusForbidden, "token %s is bound to device %q; it may not upload for device %q", t.ID(), t.Device, named)
	}
}
