package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/db"
)

func TestTokenCreate(t *testing.T) {
	data := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	err = cmdToken([]string{"create", "--scope", "write", "--name", "ci", "--data", data})
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
	if err != nil || tok.Scope != db.ScopeWrite || tok.Name != "ci" {
		t.Fatalf("stored token %+v, %v", tok, err)
	}
	if _, err := d.LookupToken(t.Context(), secret); err == nil {
		t.Fatal("the secret itself is stored")
	}
	for _, bad := range [][]string{{"create", "--scope", "admin", "--data", data}, {"list"}, {}} {
		if err := cmdToken(bad); err == nil {
			t.Errorf("token %q: no error", bad)
		}
	}
}
