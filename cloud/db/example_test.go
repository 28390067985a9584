package db_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// A receiver stores an image, a worker counts it, the API reads it back.
func Example() {
	dir, _ := os.MkdirTemp("", "canopy")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "canopy.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	created, _ := d.PutImage(ctx, db.Image{
		ItemID: "01HZX3K9V2", Device: "pi5-north", CapturedAt: time.Now(),
		ScanID: "scan-1", RawKey: "pi5-north/2026/05/17/01HZX3K9V2/image.jpg",
	})
	again, _ := d.PutImage(ctx, db.Image{
		ItemID: "01HZX3K9V2", Device: "pi5-north", CapturedAt: time.Now(), RawKey: "x",
	})
	fmt.Println("created:", created, "then:", again)

	job, _ := d.ClaimJob(ctx, "worker-1", time.Minute)
	_ = d.CompleteJob(ctx, job.ID, db.CountRecord{Count: 17, Method: "classical"})

	scan, _ := d.GetScan(ctx, "scan-1")
	fmt.Println("images:", scan.ImageCount, "trees:", scan.TotalTrees)
	// Output:
	// created: true then: false
	// images: 1 trees: 17
}
