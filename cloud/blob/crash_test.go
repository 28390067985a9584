package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
)

// TestLocalCrash kills (SIGKILL) a process in the middle of writing objects
// and overwriting them, then checks that every object left is whole: its
// name is the SHA-256 of its bytes. Temporary files may remain; they are
// never listed.
func TestLocalCrash(t *testing.T) {
	if dir := os.Getenv("CANOPY_BLOB_CRASH_DIR"); dir != "" {
		crashWriter(dir) // the child: write until killed
		return
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLocalCrash$")
		cmd.Env = append(os.Environ(), "CANOPY_BLOB_CRASH_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+100*round) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
	}
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys, err := s.List(ctx, blob.Raw, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("the writer wrote nothing before it was killed")
	}
	for _, k := range keys {
		b, _, err := s.Get(ctx, blob.Raw, k)
		if err != nil {
			t.Errorf("Get(%s): %v", k, err)
			continue
		}
		if want := fmt.Sprintf("%x", sha256.Sum256(b)); path.Base(k) != want {
			t.Errorf("%s is torn: %d bytes hash to %s", k, len(b), want)
		}
	}
	t.Logf("%d whole objects after 3 kills", len(keys))
}

// crashWriter writes objects named by the hash of their bytes, of varied
// sizes, each twice (a redelivery overwrites with the same bytes), until it
// is killed.
func crashWriter(dir string) {
	s, err := blob.NewLocal(dir)
	if err != nil {
		os.Exit(1)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		data := bytes.Repeat([]byte(fmt.Sprintf("object %d ", i)), 1000+i*37%5000)
		k := fmt.Sprintf("dev/%03d/%x", i%50, sha256.Sum256(data))
		if err := s.Put(ctx, blob.Raw, k, data, "application/octet-stream"); err != nil {
			os.Exit(1)
		}
		// Rewrite the same key with the same bytes: idempotent redelivery.
		if err := s.Put(ctx, blob.Raw, k, data, "application/octet-stream"); err != nil {
			os.Exit(1)
		}
	}
}
