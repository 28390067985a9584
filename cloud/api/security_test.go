package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/canopy-forest/canopy/cloud/db"
)

// TestScopes: which scope each kind of request needs, and which scopes
// cover which.
func TestScopes(t *testing.T) {
	for _, tt := range []struct {
		method, path, need string
	}{
		{"GET", "/metrics", db.ScopeMetrics},
		{"GET", "/v1/audit", db.ScopeAdmin},
		{"GET", "/v1/images", db.ScopeRead},
		{"HEAD", "/v1/images/x/raw", db.ScopeRead},
		{"POST", "/v1/images", db.ScopeWrite},
		{"DELETE", "/v1/scans/s", db.ScopeWrite},
		{"GET", "/", ""},
		{"GET", "/app.js", ""},
		{"GET", "/healthz", ""},
		{"GET", "/v1x", ""},
	} {
		r, _ := http.NewRequest(tt.method, tt.path, nil)
		if got := needScope(r); got != tt.need {
			t.Errorf("%s %s needs %q, want %q", tt.method, tt.path, got, tt.need)
		}
	}
	covers := map[string][]string{
		db.ScopeRead:    {db.ScopeRead},
		db.ScopeWrite:   {db.ScopeRead, db.ScopeWrite},
		db.ScopeMetrics: {db.ScopeMetrics},
		db.ScopeAdmin:   {db.ScopeRead, db.ScopeWrite, db.ScopeMetrics, db.ScopeAdmin},
	}
	for scope, yes := range covers {
		for _, need := range []string{db.ScopeRead, db.ScopeWrite, db.ScopeMetrics, db.ScopeAdmin} {
			want := strings.Contains(strings.Join(yes, ","), need)
			if got := scopeCovers(scope, need); got != want {
				t.Errorf("scope %s covers %s: %v, want %v", scope, need, got, want)
			}
		}
	}
}

// TestMetricsNeedScope: with authentication on, /metrics answers only a
// token of scope metrics or admin; MetricsHandler (the --metrics-listen
// listener) answers without one.
func TestMetricsNeedScope(t *testing.T) {
	e := newV1(t, 0)
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "canopy_test_total"}))
	e.srv = New(Options{Images: e.d, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})})
	e.srv.EnableV1(V1Options{Store: e.d, Blobs: e.blobs})
	metrics, admin := e.token(t, db.ScopeMetrics), e.token(t, db.ScopeAdmin)
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", 401},
		{"read", e.read, 403},
		{"write", e.write, 403},
		{"metrics", metrics, 200},
		{"admin", admin, 200},
	} {
		w := e.do(t, "GET", "/metrics", tt.token, nil, "")
		if w.Code != tt.want {
			t.Errorf("%s: GET /metrics %d, want %d: %s", tt.name, w.Code, tt.want, w.Body)
		}
		if tt.want == 200 && !strings.Contains(w.Body.String(), "canopy_test_total") {
			t.Errorf("%s: body %q", tt.name, w.Body)
		}
		if tt.want == 403 && !strings.Contains(w.Header().Get("WWW-Authenticate"), `scope="metrics"`) {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, w.Header().Get("WWW-Authenticate"))
		}
	}
	// A metrics token reads nothing else.
	if w := e.do(t, "GET", "/v1/images", metrics, nil, ""); w.Code != 403 {
		t.Errorf("metrics token on /v1/images: %d, want 403", w.Code)
	}
	r, _ := http.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, r)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "canopy_test_total") {
		t.Errorf("MetricsHandler without a token: %d %q", rec.Code, rec.Body)
	}
}

// TestAuditTrail: an upload leaves one entry naming its token, a duplicate
// none; GET /v1/audit needs an admin token and reads since a time.
func TestAuditTrail(t *testing.T) {
	e := newV1(t, 0)
	admin := e.token(t, db.ScopeAdmin)
	body, ct := multipartBody(t, part{"image", "a.png", testPNG(t, 8, 8)},
		part{"metadata", "", []byte(`{"item_id":"01HZZZZZZZZZZZZZZZZZZZZZZZ","scan_id":"scan-a"}`)})
	for range 2 { // the second is a duplicate: no change, no entry
		if w := e.do(t, "POST", "/v1/images", e.write, body, ct); w.Code != 202 {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
	}
	for _, tok := range []string{"", e.read, e.write} {
		if w := e.do(t, "GET", "/v1/audit", tok, nil, ""); w.Code != 401 && w.Code != 403 {
			t.Errorf("GET /v1/audit without admin: %d, want 401 or 403", w.Code)
		}
	}
	w := e.do(t, "GET", "/v1/audit?since=1h", admin, nil, "")
	var got AuditList
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("GET /v1/audit: %d %s", w.Code, w.Body)
	}
	if len(got.Entries) != 1 {
		t.Fatalf("entries %+v, want one upload", got.Entries)
	}
	en := got.Entries[0]
	if en.Action != db.AuditUpload || en.Subject != "01HZZZZZZZZZZZZZZZZZZZZZZZ" ||
		en.Who != "token:"+(db.Token{Hash: HashToken(e.write)}).ID() || !strings.Contains(en.Detail, `scan "scan-a"`) {
		t.Errorf("entry %+v", en)
	}
	for q, want := range map[string]int{"?since=2099-01-01T00:00:00Z": 0, "?limit=1": 1, "?since=7d": 1} {
		w := e.do(t, "GET", "/v1/audit"+q, admin, nil, "")
		var l AuditList
		if json.Unmarshal(w.Body.Bytes(), &l); w.Code != 200 || len(l.Entries) != want {
			t.Errorf("GET /v1/audit%s: %d, %d entries; want %d", q, w.Code, len(l.Entries), want)
		}
	}
	for _, q := range []string{"?since=yesterday", "?limit=0", "?since=-1h"} {
		if w := e.do(t, "GET", "/v1/audit"+q, admin, nil, ""); w.Code != 400 {
			t.Errorf("GET /v1/audit%s: %d, want 400", q, w.Code)
		}
	}
}

// TestSecurityHeaders: every answer, the dashboard's first, carries the
// Content-Security-Policy and its companions; the dashboard has no inline
// script, style or event handler for the policy to block.
func TestSecurityHeaders(t *testing.T) {
	e := newV1(t, 0)
	for _, path := range []string{"/", "/app.js", "/healthz", "/v1/images"} {
		w := e.do(t, "GET", path, e.read, nil, "")
		if got := w.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("%s: Content-Security-Policy %q", path, got)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, w.Header())
		}
		if w.Header().Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", path)
		}
	}
	if !strings.Contains(ContentSecurityPolicy, "script-src 'self';") || strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Errorf("policy %q allows inline or eval'd script", ContentSecurityPolicy)
	}
	ents, err := dashboardFiles.ReadDir("dashboard")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ents {
		if !strings.HasSuffix(f.Name(), ".html") {
			continue
		}
		b, _ := dashboardFiles.ReadFile("dashboard/" + f.Name())
		html := strings.ToLower(string(b))
		if strings.Contains(html, "<script>") || strings.Contains(html, "<style") || strings.Contains(html, " style=") ||
			strings.Contains(html, "javascript:") || strings.Contains(html, " onclick=") || strings.Contains(html, " onload=") {
			t.Errorf("%s has inline script or style", f.Name())
		}
	}
}

// TestHTTPSReload: served over TLS; after the files are replaced and
// Reload is called (what SIGHUP does), new connections get the new
// certificate, and a broken file keeps the old one.
func TestHTTPSReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeTestCert(t, certFile, keyFile, 1)
	cert, err := LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{TLS: cert})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	serial := func() int64 {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + ln.Addr().String() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS over TLS")
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	writeTestCert(t, certFile, keyFile, 2)
	if err := cert.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != 2 {
		t.Errorf("after Reload: serial %d, want 2", got)
	}
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cert.Reload(); err == nil {
		t.Error("Reload of a broken key: no error")
	}
	if got := serial(); got != 2 {
		t.Errorf("after a failed Reload: serial %d, want 2 (the old certificate stays)", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// token makes a token of scope and returns its secret.
func (e *v1env) token(t *testing.T, scope string) string {
	t.Helper()
	secret := NewToken()
	if err := e.d.CreateToken(t.Context(), db.Token{Hash: HashToken(secret), Scope: scope, Name: scope}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 with the
// given serial number, and its key.
func writeTestCert(t testing.TB, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}
