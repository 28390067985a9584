package db_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
)

// TestSQLiteTwoHandles opens one SQLite file twice, as two processes would
// (a receiver and `canopy-cloud token create`, or two receivers), and has
// both write and claim at once: the busy timeout and BEGIN IMMEDIATE keep
// every call successful and every job single.
func TestSQLiteTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "canopy.db")
	claimAcross(t, func() *db.DB { return open(t, path) })
}

// TestPostgresManyHandles claims from several pools on one database, as
// workers on several machines would.
func TestPostgresManyHandles(t *testing.T) {
	u := dbtest.PostgresSchemaURL(t)
	claimAcross(t, func() *db.DB { return open(t, u) })
}

// TestSQLiteStageAcross and TestPostgresStageAcross: receivers on several
// handles staging the chunks of the same items take each item once.
func TestSQLiteStageAcross(t *testing.T) {
	path := filepath.Join(t.TempDir(), "canopy.db")
	dbtest.StageAcross(t, []*db.DB{open(t, path), open(t, path), open(t, path)})
}

func TestPostgresStageAcross(t *testing.T) {
	u := dbtest.PostgresSchemaURL(t)
	dbtest.StageAcross(t, []*db.DB{open(t, u), open(t, u), open(t, u)})
}

func open(t *testing.T, u string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), u, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func claimAcross(t *testing.T, openDB func() *db.DB) {
	const handles, workers, jobs = 3, 4, 60
	ctx := context.Background()
	dbs := make([]*db.DB, handles)
	for i := range dbs {
		dbs[i] = openDB()
	}
	// Put the images through all handles at once, half of them twice.
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for h, d := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < jobs; i++ {
				if i%handles != h && i%2 == 0 {
					continue
				}
				img := db.Image{ItemID: fmt.Sprintf("m%03d", i), Device: "dev-1", CapturedAt: time.Now(), RawKey: "k"}
				c, err := d.PutImage(ctx, img)
				if err != nil {
					t.Errorf("PutImage: %v", err)
					return
				}
				if c {
					mu.Lock()
					created++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if created != jobs {
		t.Fatalf("created %d images, want %d", created, jobs)
	}
	var claims dbtest.Claims
	for h, d := range dbs {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				claims.Work(ctx, t, d, fmt.Sprintf("h%d-w%d", h, w), 2)
			}()
		}
	}
	wg.Wait()
	if n := claims.Len(); n != jobs {
		t.Errorf("%d jobs claimed, want %d", n, jobs)
	}
	st, err := dbs[0].JobStats(ctx)
	if err != nil || st[db.JobDone] != jobs {
		t.Errorf("JobStats = %v, %v; want %d done", st, err, jobs)
	}
}
