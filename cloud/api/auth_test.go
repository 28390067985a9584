package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

func TestUploadDevice(t *testing.T) {
	unbound := db.Token{Hash: "aaaaaaaaaaaaaaaa", Scope: db.ScopeWrite}
	cam1 := db.Token{Hash: "bbbbbbbbbbbbbbbb", Scope: db.ScopeWrite, Device: "cam-1"}
	cases := []struct {
		name  string
		tok   db.Token
		named string
		want  string // the device stored; "" with refused
		// refused: 403, and the message contains msg
		refused bool
		msg     string
	}{
		{"unbound, no device", unbound, "", "", false, ""},
		{"unbound names a device", unbound, "cam-1", "", true, `bound to no device, so it may not upload for device "cam-1"`},
		{"bound, its device", cam1, "cam-1", "cam-1", false, ""},
		{"bound, no device: its own", cam1, "", "cam-1", false, ""},
		{"bound, another device", cam1, "cam-2", "", true, `bound to device "cam-1"; it may not upload for device "cam-2"`},
		{"bound, case differs", cam1, "CAM-1", "", true, `may not upload for device "CAM-1"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := uploadDevice(c.tok, c.named)
			if c.refused {
				var ue *UploadError
				if !errors.As(err, &ue) || ue.Status != http.StatusForbidden || !strings.Contains(ue.Msg, c.msg) {
					t.Fatalf("uploadDevice = %q, %v; want a 403 containing %q", got, err, c.msg)
				}
				if !strings.Contains(ue.Msg, c.tok.ID()) {
					t.Errorf("message %q does not name the token %s", ue.Msg, c.tok.ID())
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("uploadDevice = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// syncBuffer is a log sink that handlers may write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAuthTokenStates: every kind of token on a read and on an upload,
// through the whole handler: status, message, WWW-Authenticate, log line.
func TestAuthTokenStates(t *testing.T) {
	e := newV1(t, 0)
	logs := e.logs
	ctx := t.Context()
	past := time.Now().Add(-48 * time.Hour)
	mk := func(tok db.Token) string {
		t.Helper()
		secret := NewToken()
		tok.Hash = HashToken(secret)
		if err := e.d.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	expired := mk(db.Token{Scope: db.ScopeWrite, Name: "old laptop", CreatedAt: past, ExpiresAt: past.Add(time.Hour)})
	future := mk(db.Token{Scope: db.ScopeWrite, ExpiresAt: time.Now().Add(time.Hour)})
	revoked := mk(db.Token{Scope: db.ScopeWrite, Name: "leaked"})
	if _, err := e.d.RevokeToken(ctx, HashToken(revoked)); err != nil {
		t.Fatal(err)
	}
	revokedExpired := mk(db.Token{Scope: db.ScopeRead, CreatedAt: past, ExpiresAt: past.Add(time.Hour)})
	if _, err := e.d.RevokeToken(ctx, HashToken(revokedExpired)); err != nil {
		t.Fatal(err)
	}
	cam1Read := mk(db.Token{Scope: db.ScopeRead, Device: "cam-1"})

	upload := func(meta string) ([]byte, string) {
		return multipartBody(t, part{"image", "a", testPNG(t, 8, 8)}, part{"metadata", "", []byte(meta)})
	}
	noDev, noDevCT := upload(goodMeta)
	cam1Meta := `{"scan_id":"scan-1","device":"cam-1"}`
	cam1Body, cam1CT := upload(cam1Meta)
	cam2Body, cam2CT := upload(`{"scan_id":"scan-1","device":"cam-2"}`)

	cases := []struct {
		name          string
		method, token string
		body          []byte
		ct            string
		status        int
		msg           string // in the error message
		log           string // in the log
	}{
		{"read, no token", "GET", "", nil, "", 401, "missing bearer token", ""},
		{"read, unknown", "GET", "cnp_nosuchtoken", nil, "", 401, "no such token", "reason=unknown"},
		{"read, expired", "GET", expired, nil, "", 401, "expired at", "reason=expired"},
		{"upload, expired", "POST", expired, noDev, noDevCT, 401, "expired at", "reason=expired"},
		{"read, revoked", "GET", revoked, nil, "", 401, "was revoked at", "reason=revoked"},
		{"upload, revoked", "POST", revoked, noDev, noDevCT, 401, `("leaked") was revoked at`, "name=leaked"},
		{"revoked wins over expired", "GET", revokedExpired, nil, "", 401, "was revoked at", ""},
		{"read, expires later", "GET", future, nil, "", 200, "", ""},
		{"upload, expires later", "POST", future, noDev, noDevCT, 202, "", ""},
		{"read, read token", "GET", e.read, nil, "", 200, "", ""},
		{"read, write token", "GET", e.write, nil, "", 200, "", ""},
		{"read, device token", "GET", e.cam1, nil, "", 200, "", ""},
		{"read, read device token", "GET", cam1Read, nil, "", 200, "", ""},
		{"upload, read device token", "POST", cam1Read, cam1Body, cam1CT, 403, "write needed", ""},
		{"upload, read token", "POST", e.read, noDev, noDevCT, 403, "write needed", ""},
		{"upload no device, unbound write", "POST", e.write, noDev, noDevCT, 202, "", ""},
		{"upload for cam-1, unbound write", "POST", e.write, cam1Body, cam1CT, 403, "bound to no device", "upload refused"},
		{"upload for cam-1, cam-1 token", "POST", e.cam1, cam1Body, cam1CT, 202, "", ""},
		{"upload for cam-2, cam-1 token", "POST", e.cam1, cam2Body, cam2CT, 403, `bound to device "cam-1"`, "bound_device=cam-1"},
		{"upload no device, cam-1 token", "POST", e.cam1, noDev, noDevCT, 202, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(logs.String())
			w := e.do(t, c.method, "/v1/images", c.token, c.body, c.ct)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if c.status >= 400 {
				var er Error
				if err := json.Unmarshal(w.Body.Bytes(), &er); err != nil || !strings.Contains(er.Error, c.msg) {
					t.Errorf("error %q, want it to contain %q", w.Body, c.msg)
				}
			}
			if c.status == 401 {
				if h := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") || (c.token != "" && !strings.Contains(h, `error="invalid_token"`)) {
					t.Errorf("WWW-Authenticate %q", h)
				}
			}
			logged := logs.String()[before:]
			if c.log != "" && !strings.Contains(logged, c.log) {
				t.Errorf("log %q, want it to contain %q", logged, c.log)
			}
			if c.token != "" && strings.Contains(logged, c.token) {
				t.Errorf("the secret is in the log: %q", logged)
			}
		})
	}

	// Where the accepted uploads went: cam-1's token stored both of its
	// uploads under cam-1 (the one that named no device too); the unbound
	// token's, under no device; nothing under cam-2.
	count := func(device string) int {
		imgs, _, err := e.d.ListImages(ctx, db.ImageQuery{Device: device, ScanID: "scan-1"})
		if err != nil {
			t.Fatal(err)
		}
		return len(imgs)
	}
	if n := count("cam-1"); n != 2 {
		t.Errorf("%d images of cam-1, want 2", n)
	}
	if n := count("cam-2"); n != 0 {
		t.Errorf("%d images of cam-2, want 0", n)
	}
	if n := count(""); n != 4 {
		t.Errorf("%d images in all, want 4", n)
	}
}

// fakeTokens is a TokenLookup with function fields.
type fakeTokens struct {
	lookup func(hash string) (db.Token, error)
	touch  func(hash string, at time.Time) error
}

func (f fakeTokens) LookupToken(_ context.Context, hash string) (db.Token, error) {
	return f.lookup(hash)
}

func (f fakeTokens) TouchToken(_ context.Context, hash string, at time.Time) error {
	return f.touch(hash, at)
}

// A token's last use is written at most once a minute, a failed write does
// not fail the request, and a failed lookup is a 500, not a crash.
func TestAuthTouchAndFailures(t *testing.T) {
	secret := NewToken()
	var touches []time.Time
	touchErr := error(nil)
	lookupErr := error(nil)
	f := fakeTokens{
		lookup: func(hash string) (db.Token, error) {
			if lookupErr != nil {
				return db.Token{}, lookupErr
			}
			if hash != HashToken(secret) {
				return db.Token{}, db.ErrNotFound
			}
			return db.Token{Hash: hash, Scope: db.ScopeRead}, nil
		},
		touch: func(hash string, at time.Time) error {
			touches = append(touches, at)
			return touchErr
		},
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var logs syncBuffer
	a := newAuth(f, slog.New(slog.NewTextHandler(&logs, nil)), func() time.Time { return now })
	h := a.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := tokenFrom(r.Context()); !ok {
			t.Error("no token in the request's context")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	get := func() int {
		r := httptest.NewRequest("GET", "/v1/images", nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	steps := []struct {
		advance time.Duration
		fail    bool
		touches int
	}{
		{0, false, 1},
		{30 * time.Second, false, 1},
		{30 * time.Second, false, 2},
		{10 * time.Second, false, 2},
		{2 * time.Minute, true, 3},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		touchErr = nil
		if s.fail {
			touchErr = errors.New("database is gone")
		}
		if code := get(); code != http.StatusNoContent {
			t.Errorf("step %d: status %d, want 204", i, code)
		}
		if len(touches) != s.touches {
			t.Errorf("step %d: %d writes of the last use, want %d", i, len(touches), s.touches)
		}
	}
	if !strings.Contains(logs.String(), "record token use") {
		t.Errorf("failed touch not logged: %q", logs.String())
	}
	lookupErr = errors.New("connection refused")
	if code := get(); code != http.StatusInternalServerError {
		t.Errorf("failed lookup: status %d, want 500", code)
	}
}
