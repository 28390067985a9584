package dbtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// testClaimItemJob: the job of one named image is claimed by exactly one of
// several claimers, is not claimed again while leased or once done, is
// taken again once its lease runs out, and is found by its raw key.
func testClaimItemJob(t *testing.T, d *db.DB) {
	ctx := context.Background()
	img := image("c1", "dev-1", t0)
	if _, err := d.ImageByRawKey(ctx, img.RawKey); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("ImageByRawKey before the row = %v, want ErrNotFound", err)
	}
	if _, _, err := d.ClaimItemJob(ctx, "c1", "w", time.Minute); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("ClaimItemJob before the row = %v, want ErrNotFound", err)
	}
	if _, _, err := d.ClaimItemJob(ctx, "c1", "", time.Minute); !errors.Is(err, db.ErrInvalid) {
		t.Errorf("ClaimItemJob without a worker name = %v, want ErrInvalid", err)
	}
	put(t, d, img)
	put(t, d, image("c0", "dev-1", t0)) // an older job that ClaimItemJob must leave alone
	got, err := d.ImageByRawKey(ctx, img.RawKey)
	if err != nil || got.ItemID != "c1" {
		t.Fatalf("ImageByRawKey = %q, %v; want c1", got.ItemID, err)
	}

	// Four claimers at once: one wins, the others see it running.
	var mu sync.Mutex
	var winners []db.Job
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			j, claimed, err := d.ClaimItemJob(ctx, "c1", "w"+string(rune('a'+i)), time.Minute)
			if err != nil {
				t.Errorf("ClaimItemJob: %v", err)
				return
			}
			if claimed {
				mu.Lock()
				winners = append(winners, j)
				mu.Unlock()
			} else if j.State == db.JobDone || j.State == db.JobFailed {
				t.Errorf("lost claim sees state %q, want queued or running", j.State)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d claimers won, want 1", len(winners))
	}
	j := winners[0]
	if j.ItemID != "c1" || j.State != db.JobRunning || j.Attempts != 1 {
		t.Errorf("claimed %+v, want c1 running, attempt 1", j)
	}
	if img, _ := d.GetImage(ctx, "c1"); img.State != db.StateCounting {
		t.Errorf("image state = %q, want counting", img.State)
	}
	if other, err := d.ClaimJob(ctx, "poller", time.Minute); err != nil || other.ItemID != "c0" {
		t.Errorf("ClaimJob = %q, %v; want the other image's job, c0", other.ItemID, err)
	}

	// Leased: not claimed, and the lease is reported.
	busy, claimed, err := d.ClaimItemJob(ctx, "c1", "late", time.Minute)
	if err != nil || claimed || busy.State != db.JobRunning || busy.Worker != j.Worker || busy.LeaseUntil.Before(time.Now()) {
		t.Errorf("claim while leased = %+v, %v, %v; want not claimed, running under %s", busy, claimed, err, j.Worker)
	}

	// Failed with a retry delay: an event for the image takes it at once.
	d.SetJobPolicy(db.JobPolicy{MaxAttempts: 3, Backoff: time.Hour, MaxBackoff: time.Hour})
	if err := d.FailJob(ctx, j.ID, "transient"); err != nil {
		t.Fatal(err)
	}
	again, claimed, err := d.ClaimItemJob(ctx, "c1", "retry", time.Millisecond)
	if err != nil || !claimed || again.Attempts != 2 {
		t.Fatalf("claim within the retry delay = %+v, %v, %v; want claimed, attempt 2", again, claimed, err)
	}
	// Its worker dies: once the lease runs out it is taken again.
	time.Sleep(5 * time.Millisecond)
	again, claimed, err = d.ClaimItemJob(ctx, "c1", "rescuer", time.Minute)
	if err != nil || !claimed || again.Attempts != 3 || again.Worker != "rescuer" {
		t.Fatalf("claim after the lease ran out = %+v, %v, %v; want claimed by rescuer, attempt 3", again, claimed, err)
	}
	if err := d.CompleteJob(ctx, again.ID, db.CountRecord{Count: 4, Method: "classical"}); err != nil {
		t.Fatal(err)
	}
	done, claimed, err := d.ClaimItemJob(ctx, "c1", "redelivered", time.Minute)
	if err != nil || claimed || done.State != db.JobDone {
		t.Errorf("claim once counted = %+v, %v, %v; want not claimed, done", done, claimed, err)
	}
	if got, err := d.ImageByRawKey(ctx, img.RawKey); err != nil || got.Count == nil || got.Count.Count != 4 {
		t.Errorf("ImageByRawKey after counting: %+v, %v; want its count 4", got.Count, err)
	}

	// Past its last attempt: failed for good, not claimed.
	put(t, d, image("c2", "dev-1", t0))
	for range 3 {
		if _, claimed, err := d.ClaimItemJob(ctx, "c2", "dying", time.Millisecond); err != nil || !claimed {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	failed, claimed, err := d.ClaimItemJob(ctx, "c2", "w", time.Minute)
	if err != nil || claimed || failed.State != db.JobFailed {
		t.Errorf("claim past the last attempt = %+v, %v, %v; want not claimed, failed", failed, claimed, err)
	}
	if img, _ := d.GetImage(ctx, "c2"); img.State != db.StateFailed {
		t.Errorf("image state = %q, want failed", img.State)
	}
}
