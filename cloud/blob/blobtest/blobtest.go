package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
)

// Run runs the conformance suite. newStore returns a store whose buckets
// blob.Raw and blob.Processed exist and are empty, for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s blob.Store)
	}{
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"List", testList},
		{"Buckets", testBuckets},
		{"HostileKeys", testHostileKeys},
		{"Concurrent", testConcurrent},
		{"URL", testURL},
		{"EnsureBucketsTwice", testEnsureTwice},
		{"Files", testFiles},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newStore(t)) })
	}
}

var ctx = context.Background()

var at = time.Date(2026, 5, 17, 23, 59, 59, 0, time.UTC)

func testPutGet(t *testing.T, s blob.Store) {
	cases := []struct {
		key, ct string
		data    []byte
	}{
		{blob.Key("dev-1", at, "01J0A", blob.NameImage), "image/jpeg", []byte("\xff\xd8\xff jpeg bytes")},
		{blob.Key("dev-1", at, "01J0A", blob.NameMask), "image/png", []byte("\x89PNG mask")},
		{"compat/ab/cd/abcdef.tiff", "image/tiff", bytes.Repeat([]byte{0, 1, 2, 255}, 300_000)},
		{"empty.json", "application/json", []byte{}},
		{"spaces and ünïcode/ok+=.png", "image/png", []byte("x")},
	}
	for _, tc := range cases {
		if err := s.Put(ctx, blob.Raw, tc.key, tc.data, tc.ct); err != nil {
			t.Fatalf("Put(%q): %v", tc.key, err)
		}
		got, ct, err := s.Get(ctx, blob.Raw, tc.key)
		if err != nil {
			t.Fatalf("Get(%q): %v", tc.key, err)
		}
		if !bytes.Equal(got, tc.data) {
			t.Errorf("Get(%q): %d bytes, want %d", tc.key, len(got), len(tc.data))
		}
		if ct != tc.ct {
			t.Errorf("Get(%q): content type %q, want %q", tc.key, ct, tc.ct)
		}
		if ok, err := s.Exists(ctx, blob.Raw, tc.key); err != nil || !ok {
			t.Errorf("Exists(%q) = %v, %v; want true", tc.key, ok, err)
		}
		if ok, err := s.Exists(ctx, blob.Processed, tc.key); err != nil || ok {
			t.Errorf("Exists(processed, %q) = %v, %v; want false", tc.key, ok, err)
		}
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	k := blob.Key("dev-1", at, "x", blob.NameImage)
	for i, data := range []string{"first version, longer", "second", "second"} {
		if err := s.Put(ctx, blob.Raw, k, []byte(data), "image/jpeg"); err != nil {
			t.Fatalf("Put #%d: %v", i+1, err)
		}
		got, _, err := s.Get(ctx, blob.Raw, k)
		if err != nil || string(got) != data {
			t.Errorf("Get after Put #%d = %q, %v; want %q", i+1, got, err, data)
		}
	}
	if keys, _ := s.List(ctx, blob.Raw, ""); !reflect.DeepEqual(keys, []string{k}) {
		t.Errorf("List after overwrites = %v, want [%s]", keys, k)
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	for _, k := range []string{"absent.jpg", "dev/2026/01/01/x/image.jpg"} {
		if _, _, err := s.Get(ctx, blob.Raw, k); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", k, err)
		}
		if ok, err := s.Exists(ctx, blob.Raw, k); err != nil || ok {
			t.Errorf("Exists(%q) = %v, %v; want false, nil", k, ok, err)
		}
	}
	// A "folder" is not an object.
	if err := s.Put(ctx, blob.Raw, "dir/file.png", []byte("x"), "image/png"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, blob.Raw, "dir"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get(folder) = %v, want ErrNotFound", err)
	}
	if ok, _ := s.Exists(ctx, blob.Raw, "dir"); ok {
		t.Error("Exists(folder) = true")
	}
	if ok, _ := s.Exists(ctx, blob.Raw, "dir/file.png/below"); ok {
		t.Error("Exists(below a file) = true")
	}
	if _, _, err := s.Get(ctx, blob.Raw, "dir/file.png/below"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get(below a file) = %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	k := "a/b/c/image.jpg"
	if err := s.Put(ctx, blob.Raw, k, []byte("x"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, blob.Raw, "a/b/other.jpg", []byte("y"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // deleting an absent object is fine
		if err := s.Delete(ctx, blob.Raw, k); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if ok, _ := s.Exists(ctx, blob.Raw, k); ok {
		t.Error("object still there after Delete")
	}
	if keys, _ := s.List(ctx, blob.Raw, ""); !reflect.DeepEqual(keys, []string{"a/b/other.jpg"}) {
		t.Errorf("List after Delete = %v", keys)
	}
	if err := s.Delete(ctx, blob.Raw, "never/was.jpg"); err != nil {
		t.Errorf("Delete(absent) = %v", err)
	}
}

func testList(t *testing.T, s blob.Store) {
	var all []string
	for d := 0; d < 3; d++ {
		for i := 0; i < 15; i++ {
			k := blob.Key(fmt.Sprintf("dev-%d", d), at.AddDate(0, 0, i%2), fmt.Sprintf("item%02d", i), blob.NameImage)
			all = append(all, k)
			if err := s.Put(ctx, blob.Raw, k, []byte(k), "image/jpeg"); err != nil {
				t.Fatal(err)
			}
		}
	}
	sort.Strings(all)
	if err := s.Put(ctx, blob.Processed, "dev-0/elsewhere.jpg", []byte("p"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	filter := func(prefix string) []string {
		out := []string{}
		for _, k := range all {
			if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
				out = append(out, k)
			}
		}
		return out
	}
	for _, prefix := range []string{"", "dev-1/", "dev-1", "dev-", "dev-2/2026/05/18/", "dev-2/2026/05/18/item0", "dev-0/2026/05/17/item04/image.jpg", "nope/", "dev-1/2026/05/1"} {
		got, err := s.List(ctx, blob.Raw, prefix)
		if err != nil {
			t.Errorf("List(%q): %v", prefix, err)
			continue
		}
		if got == nil {
			got = []string{}
		}
		if want := filter(prefix); !reflect.DeepEqual(got, want) {
			t.Errorf("List(%q) = %d keys %v\nwant %d keys %v", prefix, len(got), got, len(want), want)
		}
	}
}

func testBuckets(t *testing.T, s blob.Store) {
	if err := s.Put(ctx, blob.Raw, "same/key.jpg", []byte("raw"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, blob.Processed, "same/key.jpg", []byte("processed"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	for b, want := range map[string]string{blob.Raw: "raw", blob.Processed: "processed"} {
		got, _, err := s.Get(ctx, b, "same/key.jpg")
		if err != nil || string(got) != want {
			t.Errorf("Get(%s) = %q, %v; want %q", b, got, err, want)
		}
	}
	for _, bad := range []string{"", "../raw", "Raw", "a/b", "raw\x00"} {
		if err := s.Put(ctx, bad, "k.jpg", []byte("x"), "image/jpeg"); err == nil {
			t.Errorf("Put(bucket %q) succeeded", bad)
		}
	}
}

// HostileKeys are keys that every store refuses.
var HostileKeys = []string{
	"",
	"..",
	".",
	"../escape.jpg",
	"a/../../escape.jpg",
	"a/./b.jpg",
	"a/..",
	"/etc/passwd",
	"/abs.jpg",
	"a//b.jpg",
	"trailing/",
	"nul\x00.jpg",
	`back\slash.jpg`,
	`..\..\escape.jpg`,
	"new\nline.jpg",
	string(bytes.Repeat([]byte("k"), 1025)),
}

func testHostileKeys(t *testing.T, s blob.Store) {
	for _, k := range HostileKeys {
		if err := s.Put(ctx, blob.Raw, k, []byte("evil"), "image/jpeg"); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, _, err := s.Get(ctx, blob.Raw, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Get(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Exists(ctx, blob.Raw, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Exists(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete(ctx, blob.Raw, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.URL(ctx, blob.Raw, k, time.Minute); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("URL(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
	for _, p := range []string{"../", "/abs", "a/../", `a\b`, ".."} {
		if _, err := s.List(ctx, blob.Raw, p); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("List(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
	if keys, err := s.List(ctx, blob.Raw, ""); err != nil || len(keys) != 0 {
		t.Errorf("after hostile puts the bucket holds %v, %v", keys, err)
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	// Writers of the same key never leave a torn object behind.
	k := "race/image.jpg"
	versions := [][]byte{bytes.Repeat([]byte("a"), 64<<10), bytes.Repeat([]byte("b"), 96<<10)}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put(ctx, blob.Raw, k, versions[i%2], "image/jpeg"); err != nil {
				t.Errorf("Put: %v", err)
			}
		}()
	}
	wg.Wait()
	got, _, err := s.Get(ctx, blob.Raw, k)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
		t.Errorf("object is torn: %d bytes", len(got))
	}
	if keys, _ := s.List(ctx, blob.Raw, ""); len(keys) != 1 {
		t.Errorf("List = %v, want the one key (no temporary files)", keys)
	}
}

func testURL(t *testing.T, s blob.Store) {
	k := blob.Key("dev-1", at, "u1", blob.NameImage)
	data := []byte("presigned bytes")
	if err := s.Put(ctx, blob.Raw, k, data, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	u, err := s.URL(ctx, blob.Raw, k, 5*time.Minute)
	if err != nil {
		t.Fatalf("URL: %v", err)
	}
	if u == "" {
		return // the store serves no URLs of its own
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("GET presigned URL: %s, %q; want 200, %q", resp.Status, body, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/jpeg" {
		t.Errorf("GET presigned URL: Content-Type %q, want image/jpeg", ct)
	}
	// A URL for another key does not open this one.
	other, err := s.URL(ctx, blob.Raw, "absent.jpg", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp2, err := http.Get(other)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotFound {
		t.Errorf("GET presigned URL of an absent key: %s, want 404", resp2.Status)
	}
}

func testEnsureTwice(t *testing.T, s blob.Store) {
	if err := s.Put(ctx, blob.Raw, "kept.jpg", []byte("x"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	if err := blob.EnsureBuckets(ctx, s); err != nil {
		t.Fatalf("EnsureBuckets again: %v", err)
	}
	if ok, _ := s.Exists(ctx, blob.Raw, "kept.jpg"); !ok {
		t.Error("EnsureBuckets lost an object")
	}
}

// testFiles: PutFile and GetFile move objects through files, streaming
// when the store is a blob.Filer.
func testFiles(t *testing.T, s blob.Store) {
	ctx := context.Background()
	if _, ok := s.(blob.Filer); !ok {
		t.Errorf("%T is not a blob.Filer", s)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "in.tif")
	data := bytes.Repeat([]byte("II*\x00ortho"), 100_000)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	key := "upload/2026/05/17/up-1/image.tif"
	if err := blob.PutFile(ctx, s, blob.Raw, key, src, "image/tiff"); err != nil {
		t.Fatalf("PutFile: %v", err)
	}
	if got, _, err := s.Get(ctx, blob.Raw, key); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get after PutFile: %d bytes, %v; want %d", len(got), err, len(data))
	}
	dst := filepath.Join(dir, "out.tif")
	ct, err := blob.GetFile(ctx, s, blob.Raw, key, dst)
	if err != nil || ct != "image/tiff" {
		t.Fatalf("GetFile: %q, %v", ct, err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Errorf("GetFile wrote %d bytes, want %d", len(got), len(data))
	}
	if _, err := blob.GetFile(ctx, s, blob.Raw, "absent/x.tif", dst); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("GetFile(absent): %v, want ErrNotFound", err)
	}
	if err := blob.PutFile(ctx, s, blob.Raw, key, filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("PutFile(missing file): want an error")
	}
}
