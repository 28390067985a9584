package accesscmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
)

func TestTokenCreate(t *testing.T) {
	data := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	err = runToken([]string{"create", "--scope", "write", "--name", "ci", "--data", data}, os.Stdout, os.Stderr)
	os.Stdout = stdout
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, _ := r.Read(buf)
	secret := strings.TrimSpace(string(buf[:n]))
	if !strings.HasPrefix(secret, "cnp_") || len(secret) < 40 {
		t.Fatalf("secret %q", secret)
	}
	d, err := db.Open(context.Background(), filepath.Join(data, "canopy.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tok, err := d.LookupToken(t.Context(), api.HashToken(secret))
	if err != nil || tok.Scope != db.ScopeWrite || tok.Name != "ci" || tok.Device != "" || !tok.ExpiresAt.IsZero() {
		t.Fatalf("stored token %+v, %v", tok, err)
	}
	if _, err := d.LookupToken(t.Context(), secret); err == nil {
		t.Fatal("the secret itself is stored")
	}
	empty := t.TempDir()
	for _, bad := range [][]string{
		{"create", "--scope", "root", "--data", data},
		{"create", "--scope", "write", "--device", "a/b", "--data", data},
		{"create", "--scope", "read", "--device", "pi-07", "--data", data},
		{"create", "--scope", "write", "--expires", "yesterday", "--data", data},
		{"create", "--scope", "write", "--expires", "-5m", "--data", data},
		{"create", "--scope", "write", "--expires", "2001-01-01T00:00:00Z", "--data", data},
		{"create", "--scope", "write", "extra", "--data", data},
		{"list", "extra", "--data", data},
		{"list", "--data", empty},
		{"revoke", "--data", data},
		{"revoke", "a", "b", "--data", data},
		{"frobnicate"},
		{},
	} {
		var o, e bytes.Buffer
		if err := runToken(bad, &o, &e); err == nil {
			t.Errorf("token %q: no error", bad)
		}
		if o.Len() != 0 {
			t.Errorf("token %q: printed %q on stdout", bad, o.String())
		}
	}
	if ts, _ := d.ListTokens(t.Context()); len(ts) != 1 {
		t.Errorf("%d tokens after the refused commands, want 1", len(ts))
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("token list made files in a folder with no database: %v", ents)
	}
}

// tokenCLI runs token commands against one database.
type tokenCLI struct {
	t  *testing.T
	db []string // --data DIR or --database-url URL
}

func (c tokenCLI) run(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	var o, e bytes.Buffer
	err = runToken(append(args, c.db...), &o, &e)
	return o.String(), e.String(), err
}

func (c tokenCLI) create(args ...string) string {
	c.t.Helper()
	o, e, err := c.run(append([]string{"create"}, args...)...)
	if err != nil {
		c.t.Fatalf("token create %q: %v", args, err)
	}
	if strings.Count(o, "\n") != 1 || !strings.HasPrefix(o, "cnp_") {
		c.t.Fatalf("token create %q printed %q on stdout, want the secret alone", args, o)
	}
	if !strings.Contains(e, "shown only once") {
		c.t.Errorf("token create stderr %q", e)
	}
	return strings.TrimSpace(o)
}

func (c tokenCLI) list() []tokenView {
	c.t.Helper()
	o, _, err := c.run("list", "--json")
	if err != nil {
		c.t.Fatalf("token list --json: %v", err)
	}
	var vs []tokenView
	if err := json.Unmarshal([]byte(o), &vs); err != nil {
		c.t.Fatalf("token list --json: %v in %q", err, o)
	}
	return vs
}

func byID(vs []tokenView, id string) tokenView {
	for _, v := range vs {
		if v.ID == id {
			return v
		}
	}
	return tokenView{}
}

func id(secret string) string { return db.Token{Hash: api.HashToken(secret)}.ID() }

func TestTokenListRevokeExpiry(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testTokenLifecycle(t, tokenCLI{t: t, db: []string{"--data", t.TempDir()}})
	})
	t.Run("postgres", func(t *testing.T) {
		testTokenLifecycle(t, tokenCLI{t: t, db: []string{"--database-url", dbtest.PostgresSchemaURL(t)}})
	})
}

func testTokenLifecycle(t *testing.T, c tokenCLI) {
	start := time.Now()
	ci := c.create("--scope", "write", "--name", "ci")
	pi := c.create("--scope", "write", "--name", "pi-07 uploads", "--device", "pi-07", "--expires", "90d")
	dash := c.create("--scope", "read", "--name", "dashboard", "--expires", "2099-01-01T00:00:00Z")
	short := c.create("--scope", "read", "--expires", "1h30m")

	vs := c.list()
	if len(vs) != 4 {
		t.Fatalf("token list: %d tokens, want 4: %+v", len(vs), vs)
	}
	p := byID(vs, id(pi))
	want90 := start.Add(90 * 24 * time.Hour)
	if p.Device != "pi-07" || p.Scope != "write" || p.Name != "pi-07 uploads" || p.State != "active" || p.ExpiresAt == nil ||
		p.ExpiresAt.Before(want90.Add(-time.Minute)) || p.ExpiresAt.After(want90.Add(time.Minute)) {
		t.Errorf("device token listed as %+v, want device pi-07, expiring about %v", p, want90)
	}
	if d := byID(vs, id(dash)); d.ExpiresAt == nil || !d.ExpiresAt.Equal(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)) || d.Scope != "read" {
		t.Errorf("dashboard token listed as %+v", d)
	}
	if s := byID(vs, id(short)); s.ExpiresAt == nil || s.ExpiresAt.Sub(start) < 89*time.Minute || s.ExpiresAt.Sub(start) > 91*time.Minute {
		t.Errorf("1h30m token listed as %+v", s)
	}
	if v := byID(vs, id(ci)); v.ExpiresAt != nil || v.RevokedAt != nil || v.LastUsedAt != nil || v.Device != "" || v.State != "active" {
		t.Errorf("plain token listed as %+v", v)
	}
	raw, _, _ := c.run("list", "--json")
	for _, s := range []string{ci, pi, dash, api.HashToken(ci), `"hash"`} {
		if strings.Contains(raw, s) {
			t.Errorf("token list --json shows %q", s)
		}
	}
	table, _, err := c.run("list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "LAST USED") {
		t.Errorf("token list table:\n%s", table)
	}
	if !strings.Contains(table, id(pi)) || !strings.Contains(table, "pi-07") {
		t.Errorf("token list table lacks the device token:\n%s", table)
	}

	// Revoke by name, flags before the name this time.
	o, e, err := c.run("revoke")
	if err == nil {
		t.Errorf("revoke with no argument: no error (%q %q)", o, e)
	}
	var out, errb bytes.Buffer
	if err := runToken(append(append([]string{"revoke"}, c.db...), "ci"), &out, &errb); err != nil {
		t.Fatalf("revoke ci: %v", err)
	}
	if !strings.Contains(out.String(), "revoked token "+id(ci)) {
		t.Errorf("revoke ci printed %q", out.String())
	}
	v := byID(c.list(), id(ci))
	if v.State != "revoked" || v.RevokedAt == nil || v.RevokedAt.Before(start.Add(-time.Second)) {
		t.Errorf("after revoke: %+v", v)
	}
	if _, e, err := c.run("revoke", "ci"); err != nil || !strings.Contains(e, "already revoked") {
		t.Errorf("revoke ci again: %v, %q; want no error and 'already revoked'", err, e)
	}
	// By id, and by a longer prefix of the hash.
	if o, _, err := c.run("revoke", id(pi)); err != nil || !strings.Contains(o, id(pi)) {
		t.Errorf("revoke by id: %v %q", err, o)
	}
	if _, _, err := c.run("revoke", api.HashToken(dash)[:20]); err != nil {
		t.Errorf("revoke by a hash prefix: %v", err)
	}
	// Unknown, too short and ambiguous references are clear errors.
	for ref, msg := range map[string]string{
		"nope":                     "no token with id or name",
		id(short)[:4]:              "no token with id or name",
		"ffffffffffffffffffffffff": "no token with id or name",
	} {
		if _, _, err := c.run("revoke", ref); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("revoke %q: %v, want an error with %q", ref, err, msg)
		}
	}
	a := c.create("--scope", "read", "--name", "twin")
	b := c.create("--scope", "read", "--name", "twin")
	if _, _, err := c.run("revoke", "twin"); err == nil || !strings.Contains(err.Error(), "names 2 tokens") {
		t.Errorf("revoke twin: %v, want 'names 2 tokens'", err)
	}
	if _, _, err := c.run("revoke", id(a)); err != nil {
		t.Fatal(err)
	}
	if o, _, err := c.run("revoke", "twin"); err != nil || !strings.Contains(o, id(b)) {
		t.Errorf("revoke twin with one left: %v %q; want %s revoked", err, o, id(b))
	}
	states := map[string]string{}
	for _, v := range c.list() {
		states[v.ID] = v.State
	}
	want := map[string]string{id(ci): "revoked", id(pi): "revoked", id(dash): "revoked", id(short): "active", id(a): "revoked", id(b): "revoked"}
	for k, w := range want {
		if states[k] != w {
			t.Errorf("token %s is %s, want %s", k, states[k], w)
		}
	}
}

// An expired token shows as such in the list.
func TestTokenListExpired(t *testing.T) {
	data := t.TempDir()
	c := tokenCLI{t: t, db: []string{"--data", data}}
	c.create("--scope", "read")
	d, err := db.Open(t.Context(), filepath.Join(data, "canopy.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-72 * time.Hour)
	err = d.CreateToken(t.Context(), db.Token{Hash: api.HashToken("cnp_old"), Scope: db.ScopeWrite, CreatedAt: past, ExpiresAt: past.Add(time.Hour)})
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if v := byID(c.list(), id("cnp_old")); v.State != "expired" {
		t.Errorf("expired token listed as %+v", v)
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", time.Time{}, false},
		{"90d", now.Add(90 * 24 * time.Hour), false},
		{"1d", now.Add(24 * time.Hour), false},
		{"720h", now.Add(720 * time.Hour), false},
		{"1h30m", now.Add(90 * time.Minute), false},
		{"2027-01-01T00:00:00Z", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"2027-01-01T02:00:00+02:00", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-05-01T12:00:00Z", time.Time{}, true}, // not after now
		{"2020-01-01T00:00:00Z", time.Time{}, true},
		{"0s", time.Time{}, true},
		{"-1h", time.Time{}, true},
		{"-3d", time.Time{}, true},
		{"0d", time.Time{}, true},
		{"1.5d", time.Time{}, true},
		{"d", time.Time{}, true},
		{"99999999d", time.Time{}, true},
		{"tomorrow", time.Time{}, true},
		{"2027-01-01", time.Time{}, true},
	}
	for _, c := range cases {
		got, err := parseExpiry(c.in, now)
		if c.bad {
			if err == nil {
				t.Errorf("parseExpiry(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
