package blob_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
)

func TestLocal(t *testing.T) { blobtest.Run(t, blobtest.Local) }

func TestS3(t *testing.T) { blobtest.Run(t, blobtest.S3) }

func TestKey(t *testing.T) {
	cases := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 5, 7, 1, 2, 3, 0, time.UTC), "pi-1/2026/05/07/01J0/image.jpg"},
		// The date is UTC's, whatever the zone of the time given.
		{time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)), "pi-1/2025/12/31/01J0/image.jpg"},
	}
	for _, tc := range cases {
		got := blob.Key("pi-1", tc.at, "01J0", blob.NameImage)
		if got != tc.want {
			t.Errorf("Key(%v) = %q, want %q", tc.at, got, tc.want)
		}
		if err := blob.ValidKey(got); err != nil {
			t.Errorf("ValidKey(%q) = %v", got, err)
		}
	}
}

// TestLocalLayout checks that the local store keeps the S3 key layout on
// disk, and that nothing lands outside its folder.
func TestLocalLayout(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "blobs")
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := blob.Key("dev-1", time.Date(2026, 5, 7, 0, 0, 0, 0, time.UTC), "id1", blob.NameMask)
	if err := s.Put(ctx, blob.Raw, k, []byte("png"), "image/png"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "raw", "dev-1", "2026", "05", "07", "id1", "mask.png"))
	if err != nil || string(b) != "png" {
		t.Errorf("file on disk: %q, %v", b, err)
	}
	for _, k := range blobtest.HostileKeys {
		s.Put(ctx, blob.Raw, k, []byte("evil"), "image/jpeg")
	}
	var files []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Errorf("files under %s: %v, want only the mask", root, files)
	}
	// Temporary names are reserved.
	if err := s.Put(ctx, blob.Raw, "a/.tmp-123", []byte("x"), ""); !errors.Is(err, blob.ErrInvalidKey) {
		t.Errorf("Put(.tmp-*) = %v, want ErrInvalidKey", err)
	}
	// A stale temporary file (a crash mid-write) is not listed.
	if err := os.WriteFile(filepath.Join(dir, "raw", "dev-1", ".tmp-999"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.List(ctx, blob.Raw, ""); len(keys) != 1 || keys[0] != k {
		t.Errorf("List = %v, want [%s]", keys, k)
	}
	if u, err := s.URL(ctx, blob.Raw, k, time.Minute); err != nil || u != "" {
		t.Errorf("URL = %q, %v; want \"\", nil", u, err)
	}
}

func TestNewLocalEmpty(t *testing.T) {
	if _, err := blob.NewLocal(""); err == nil {
		t.Error("NewLocal(\"\") succeeded")
	}
}

// TestS3EnvCredentials reaches the server with credentials from the
// standard chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) only.
func TestS3EnvCredentials(t *testing.T) {
	c := blobtest.S3Config(t)
	t.Setenv("AWS_ACCESS_KEY_ID", c.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", c.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	c.AccessKey, c.SecretKey = "", ""
	s := blobtest.S3With(t, c)
	ctx := context.Background()
	if err := s.Put(ctx, blob.Processed, "env.jpg", []byte("x"), "image/jpeg"); err != nil {
		t.Fatalf("Put with env credentials: %v", err)
	}
	// Wrong credentials are refused, with an error that is not "not found".
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	bad, err := blob.NewS3(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bad.Get(ctx, blob.Processed, "env.jpg"); err == nil || errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get with a wrong secret = %v, want an authentication error", err)
	}
}

func TestModelKey(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	if got, ok := blob.ModelSHA(blob.ModelKey(sha)); !ok || got != sha {
		t.Errorf("ModelSHA(ModelKey) = %q, %v", got, ok)
	}
	for _, k := range []string{"models/x.onnx", "dev/2026/01/02/item/annotated.jpg", "models/" + strings.Repeat("AB", 32) + ".onnx"} {
		if _, ok := blob.ModelSHA(k); ok {
			t.Errorf("ModelSHA(%q) is a model", k)
		}
	}
}
