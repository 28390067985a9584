package db_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// TestSQLiteCrash kills (SIGKILL) a process that stores images and prints
// each item id once PutImage has returned (as ingest acknowledges), then
// reopens the file: every printed image is there, with its job.
func TestSQLiteCrash(t *testing.T) {
	if p := os.Getenv("CANOPY_DB_CRASH_FILE"); p != "" {
		crashPutter(p)
		return
	}
	path := filepath.Join(t.TempDir(), "canopy.db")
	var acked []string
	for round := 0; round < 2; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteCrash$")
		cmd.Env = append(os.Environ(), "CANOPY_DB_CRASH_FILE="+path, fmt.Sprintf("CANOPY_DB_CRASH_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(20 * time.Second)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			if id, ok := strings.CutPrefix(line, "acked "); ok {
				acked = append(acked, id)
				n++
			}
			if n >= 40 || time.Now().After(deadline) {
				break
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if n == 0 {
			t.Fatalf("round %d: the child stored nothing", round)
		}
	}
	d, err := db.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer d.Close()
	for _, id := range acked {
		if _, err := d.GetImage(context.Background(), id); err != nil {
			t.Errorf("acknowledged image %s lost: %v", id, err)
		}
	}
	st, err := d.JobStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	imgs, _, err := d.ListImages(context.Background(), db.ImageQuery{Limit: db.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if st[db.JobQueued] != len(imgs) {
		t.Errorf("%d images but %d queued jobs", len(imgs), st[db.JobQueued])
	}
}

func crashPutter(path string) {
	d, err := db.Open(context.Background(), path, nil)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	round := os.Getenv("CANOPY_DB_CRASH_ROUND")
	for i := 0; ; i++ {
		id := fmt.Sprintf("r%s-%06d", round, i)
		img := db.Image{ItemID: id, Device: "dev-1", CapturedAt: time.Now(), RawKey: "dev-1/" + id + "/image.jpg"}
		if _, err := d.PutImage(context.Background(), img); err != nil {
			fmt.Println("put:", err)
			os.Exit(1)
		}
		fmt.Println("acked", id)
	}
}
