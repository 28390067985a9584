package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is one counting job: count the image ItemID.
type Job struct {
	ID         int64
	ItemID     string
	State      string
	Attempts   int // claims so far, this one included
	LeaseUntil time.Time
	Worker     string
	LastError  string
	CreatedAt  time.Time
	// Method and ModelSHA256 name the counter a recount asks for (the
	// model stored at processed/models/<sha256>.onnx); "" = the worker's own.
	Method      string
	ModelSHA256 string
}

// JobPolicy says how failed jobs are retried.
type JobPolicy struct {
	MaxAttempts int           // after this many failed attempts a job fails for good; 0: 5
	Backoff     time.Duration // delay after the first failure, doubled each time; 0: none
	MaxBackoff  time.Duration // 0: 10 minutes
}

// DefaultJobPolicy is the policy of a new DB.
var DefaultJobPolicy = JobPolicy{MaxAttempts: 5, Backoff: 10 * time.Second, MaxBackoff: 10 * time.Minute}

const jobCols = `id, item_id, state, attempts, lease_until, worker, last_error, created_at, method, model_sha256`

func scanJob(r scanner) (Job, error) {
	var j Job
	err := r.Scan(&j.ID, &j.ItemID, &j.State, &j.Attempts, timeCol{&j.LeaseUntil}, &j.Worker, &j.LastError, timeCol{&j.CreatedAt},
		&j.Method, &j.ModelSHA256)
	return j, err
}

// failImage marks an image failed for good, in tx, unless it has a count
// (a recount that failed leaves the count it had).
const failImage = `UPDATE images SET state = ? WHERE item_id = ? AND NOT EXISTS (SELECT 1 FROM counts c WHERE c.item_id = images.item_id)`

// ClaimJob leases the oldest ready job to worker until now+lease, and marks
// its image "counting". Ready means queued (and past its retry delay), or
// running with a lease that has run out: its worker is presumed dead. A job
// whose lease has run out after its last allowed attempt fails instead.
// ErrNoJob when nothing is ready. On PostgreSQL any number of workers on any
// number of machines may claim at once (FOR UPDATE SKIP LOCKED); they never
// get the same job while its lease holds.
func (d *DB) ClaimJob(ctx context.Context, worker string, lease time.Duration) (Job, error) {
	if err := checkClaim(worker, lease); err != nil {
		return Job{}, fmt.Errorf("claim job: %w", err)
	}
	pick := `SELECT id FROM jobs WHERE (state = 'queued' AND lease_until <= ?) OR (state = 'running' AND lease_until < ?)
		ORDER BY id LIMIT 1`
	for {
		j, err := d.claim(ctx, worker, lease, pick, func(t time.Time) []any { return []any{d.ts(t), d.ts(t)} })
		switch {
		case errors.Is(err, ErrNoJob):
			return Job{}, ErrNoJob
		case err != nil:
			return Job{}, fmt.Errorf("claim job: %w", err)
		case j.State == JobFailed:
			continue
		}
		return j, nil
	}
}

func checkClaim(worker string, lease time.Duration) error {
	if worker == "" {
		return fmt.Errorf("%w: empty worker name", ErrInvalid)
	}
	if lease <= 0 {
		return fmt.Errorf("%w: lease %v", ErrInvalid, lease)
	}
	return nil
}

// claim leases the job that the query pick selects (one id; its arguments
// come from args at the time of the claim) to worker, in one transaction.
// A job past its last allowed attempt is marked failed, with its image, and
// returned with state JobFailed. ErrNoJob when pick selects nothing.
func (d *DB) claim(ctx context.Context, worker string, lease time.Duration, pick string, args func(now time.Time) []any) (Job, error) {
	if d.dialect == Postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	maxAttempts := d.jobPolicy().MaxAttempts
	t := now()
	var j Job
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, d.rebind(`UPDATE jobs SET state = 'running', attempts = attempts + 1,
			lease_until = ?, worker = ?, updated_at = ? WHERE id = (`+pick+`) RETURNING `+jobCols),
			append([]any{d.ts(t.Add(lease)), worker, d.ts(t)}, args(t)...)...))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoJob
		}
		if err != nil {
			return err
		}
		if j.Attempts > maxAttempts {
			// Its workers keep dying on it: give up.
			j.State = JobFailed
			j.LastError = fmt.Sprintf("lease ran out %d times", j.Attempts-1)
			if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE jobs SET state = ?, last_error = ?, updated_at = ? WHERE id = ?`),
				JobFailed, j.LastError, d.ts(t), j.ID); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, d.rebind(failImage), StateFailed, j.ItemID)
			return err
		}
		_, err = tx.ExecContext(ctx, d.rebind(`UPDATE images SET state = ? WHERE item_id = ? AND state <> ?`),
			StateCounting, j.ItemID, StateCounted)
		return err
	})
	if err != nil {
		return Job{}, err
	}
	if j.State == JobFailed {
		d.log.Warn("count job failed for good", "item", j.ItemID, "job", j.ID, "err", j.LastError)
	}
	return j, nil
}

// CompleteJob saves the count of the job's image, marks the image counted
// and the job done, in one transaction. The count it replaces (a recount)
// moves to the image's count history; completing a job again is harmless
// (it replaces the count without keeping a copy). c.ItemID, if set, must be
// the job's image; a zero c.CountedAt means now. ErrNotFound for an
// unknown job.
func (d *DB) CompleteJob(ctx context.Context, jobID int64, c CountRecord) error {
	if c.Count < 0 {
		return fmt.Errorf("complete job %d: %w: negative count", jobID, ErrInvalid)
	}
	boxes := c.Boxes
	if boxes == nil {
		boxes = []Box{}
	}
	bj, err := json.Marshal(boxes)
	if err != nil {
		return fmt.Errorf("complete job %d: boxes: %w", jobID, err)
	}
	footprint, err := jsonText(c.Footprint, len(c.Footprint) == 0)
	if err != nil {
		return fmt.Errorf("complete job %d: footprint: %w", jobID, err)
	}
	t := now()
	if c.CountedAt.IsZero() {
		c.CountedAt = t
	}
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		item, state, err := d.lockJob(ctx, tx, jobID)
		if err != nil {
			return err
		}
		if c.ItemID != "" && c.ItemID != item {
			return fmt.Errorf("%w: count of %q given for the job of %q", ErrInvalid, c.ItemID, item)
		}
		if state != JobDone {
			if err := d.keepCount(ctx, tx, item); err != nil { // history.go
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO counts (item_id, count, boxes, method, model, model_sha256,
			annotated_key, mask_key, counted_at, gsd_m, gsd_source, positions, position_note, footprint)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (item_id) DO UPDATE SET count = excluded.count, boxes = excluded.boxes,
			method = excluded.method, model = excluded.model, model_sha256 = excluded.model_sha256,
			annotated_key = excluded.annotated_key, mask_key = excluded.mask_key, counted_at = excluded.counted_at,
			gsd_m = excluded.gsd_m, gsd_source = excluded.gsd_source, positions = excluded.positions,
			position_note = excluded.position_note, footprint = excluded.footprint`),
			item, c.Count, string(bj), c.Method, c.Model, c.ModelSHA256, c.AnnotatedKey, c.MaskKey, d.ts(c.CountedAt),
			c.GSD, c.GSDSource, c.Positions, c.PositionNote, footprint); err != nil {
			return fmt.Errorf("save count: %w", err)
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE images SET state = ? WHERE item_id = ?`), StateCounted, item); err != nil {
			return err
		}
		if err := d.extendScanOf(ctx, tx, item, c.Footprint); err != nil { // scans.go
			return err
		}
		_, err = tx.ExecContext(ctx, d.rebind(`UPDATE jobs SET state = ?, last_error = '', updated_at = ? WHERE id = ?`),
			JobDone, d.ts(t), jobID)
		return err
	})
	if err != nil {
		return fmt.Errorf("complete job %d: %w", jobID, err)
	}
	return nil
}

// lockJob reads (and on PostgreSQL locks) a job's item id and state.
func (d *DB) lockJob(ctx context.Context, tx *sql.Tx, jobID int64) (item, state string, err error) {
	q := `SELECT item_id, state FROM jobs WHERE id = ?`
	if d.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	err = tx.QueryRowContext(ctx, d.rebind(q), jobID).Scan(&item, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	return item, state, err
}

// FailJob records a failed attempt at a job: back to the queue after a
// delay (JobPolicy.Backoff, doubled per attempt) while attempts remain, else
// failed for good, with its image. A job already done stays done.
// ErrNotFound for an unknown job.
func (d *DB) FailJob(ctx context.Context, jobID int64, reason string) error {
	p := d.jobPolicy()
	if len(reason) > 4096 {
		reason = reason[:4096]
	}
	t := now()
	var final bool
	var item string
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		var err error
		item, state, err = d.lockJob(ctx, tx, jobID)
		if err != nil {
			return err
		}
		if state == JobDone {
			return nil
		}
		var attempts int
		if err := tx.QueryRowContext(ctx, d.rebind(`SELECT attempts FROM jobs WHERE id = ?`), jobID).Scan(&attempts); err != nil {
			return err
		}
		if attempts >= p.MaxAttempts {
			final = true
			if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE jobs SET state = ?, last_error = ?, worker = '', updated_at = ? WHERE id = ?`),
				JobFailed, reason, d.ts(t), jobID); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, d.rebind(failImage), StateFailed, item)
			return err
		}
		delay := backoff(p, attempts)
		if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE jobs SET state = ?, last_error = ?, worker = '', lease_until = ?, updated_at = ? WHERE id = ?`),
			JobQueued, reason, d.ts(t.Add(delay)), d.ts(t), jobID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, d.rebind(`UPDATE images SET state = ? WHERE item_id = ? AND state <> ?`), StateStored, item, StateCounted)
		return err
	})
	if err != nil {
		return fmt.Errorf("fail job %d: %w", jobID, err)
	}
	if final {
		d.log.Warn("count job failed for good", "item", item, "job", jobID, "err", reason)
	}
	return nil
}

// backoff is the delay before attempt n+1 after n failed attempts.
func backoff(p JobPolicy, n int) time.Duration {
	if p.Backoff <= 0 || n <= 0 {
		return 0
	}
	d := p.Backoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	if p.MaxBackoff > 0 && d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	return d
}

// GetJob returns a job by id; ErrNotFound.
func (d *DB) GetJob(ctx context.Context, jobID int64) (Job, error) {
	j, err := scanJob(d.sql.QueryRowContext(ctx, d.rebind(`SELECT `+jobCols+` FROM jobs WHERE id = ?`), jobID))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("get job %d: %w", jobID, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("get job %d: %w", jobID, err)
	}
	return j, nil
}

// JobStats counts the jobs in each state.
func (d *DB) JobStats(ctx context.Context) (map[string]int, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("job stats: %w", err)
	}
	defer rows.Close()
	m := map[string]int{JobQueued: 0, JobRunning: 0, JobDone: 0, JobFailed: 0}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("job stats: %w", err)
		}
		m[s] = n
	}
	return m, rows.Err()
}
