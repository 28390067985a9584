package countfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// Jobs is what the function needs of the database (*db.DB).
type Jobs interface {
	ImageByRawKey(ctx context.Context, key string) (db.Image, error)
	ClaimItemJob(ctx context.Context, itemID, worker string, lease time.Duration) (db.Job, bool, error)
	ClaimJob(ctx context.Context, worker string, lease time.Duration) (db.Job, error)
}

// Processor counts the image of a claimed job and records the outcome
// (*worker.Pool, the code of the in-process workers).
type Processor interface {
	Process(ctx context.Context, job db.Job, name string) error
}

// Config configures a Handler.
type Config struct {
	// RawBucket is the server-side name of the raw bucket (with its
	// prefix); notifications about other buckets are ignored.
	RawBucket string
	// Worker names the function in the jobs table, followed by the
	// invocation's request id; "" = "lambda".
	Worker string
	// Lease is the job lease when the invocation has no deadline; with
	// one, the lease runs to the deadline plus LeaseSlack. 0 = 15 minutes.
	Lease time.Duration
	// LeaseSlack is added to the time left before the deadline; 0 = 30 s.
	LeaseSlack time.Duration
	// SweepReserve: a sweep claims no more jobs once less than this is left
	// before the deadline. 0 = 60 s.
	SweepReserve time.Duration
	// SweepMax is the most jobs one sweep counts. 0 = 1000.
	SweepMax int
}

func (c Config) withDefaults() Config {
	if c.Worker == "" {
		c.Worker = "lambda"
	}
	if c.Lease <= 0 {
		c.Lease = 15 * time.Minute
	}
	if c.LeaseSlack <= 0 {
		c.LeaseSlack = 30 * time.Second
	}
	if c.SweepReserve <= 0 {
		c.SweepReserve = time.Minute
	}
	if c.SweepMax <= 0 {
		c.SweepMax = 1000
	}
	return c
}

// Handler handles the function's invocations.
type Handler struct {
	c    Config
	jobs Jobs
	p    Processor
	log  *slog.Logger
}

// New returns a Handler.
func New(c Config, jobs Jobs, p Processor, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{c: c.withDefaults(), jobs: jobs, p: p, log: log.With("component", "countfn")}
}

// Outcome is what became of one object.
type Outcome string

// Outcomes.
const (
	Counted        Outcome = "counted"         // counted now
	AlreadyCounted Outcome = "already_counted" // counted before: nothing done
	Failed         Outcome = "failed"          // its job failed for good before: nothing done
	Ignored        Outcome = "ignored"         // not an image in the raw bucket
)

// Result is the response to an invocation with notifications or a sweep.
type Result struct {
	Counted        int `json:"counted"`
	AlreadyCounted int `json:"already_counted"`
	Failed         int `json:"failed"`
	Ignored        int `json:"ignored"`
	// Swept is set by a sweep: jobs it counted; SweepErrors, those whose
	// count failed (recorded in the job, retried after its delay).
	Swept       int `json:"swept,omitempty"`
	SweepErrors int `json:"sweep_errors,omitempty"`
}

func (r *Result) add(o Outcome) {
	switch o {
	case Counted:
		r.Counted++
	case AlreadyCounted:
		r.AlreadyCounted++
	case Failed:
		r.Failed++
	default:
		r.Ignored++
	}
}

// Invoke handles one invocation, whatever its payload: notifications of
// created objects (a Result, and an error when any object must be tried
// again: the whole event is then retried, and what was counted is not
// counted twice), an SQS batch (an events.SQSEventResponse that lists the
// messages to retry: the event source mapping needs
// ReportBatchItemFailures), or a scheduled event (a sweep of the queue).
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	k, _, err := classify(payload)
	if err != nil {
		return nil, err
	}
	switch k {
	case kindSQS:
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: SQS event: %v", ErrUnknownEvent, err)
		}
		return h.SQS(ctx, ev), nil
	case kindSweep:
		return h.Sweep(ctx)
	}
	objs, err := objects(payload, 0)
	if err != nil {
		return nil, err
	}
	return h.handle(ctx, objs)
}

// handle handles the objects one notification names.
func (h *Handler) handle(ctx context.Context, objs []object) (Result, error) {
	var r Result
	var errs []error
	for _, o := range objs {
		out, err := h.Object(ctx, o.Bucket, o.Key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", o.Bucket, o.Key, err))
			continue
		}
		r.add(out)
	}
	return r, errors.Join(errs...)
}

// SQS handles a batch of SQS messages, each carrying notifications, and
// lists the messages whose objects must be tried again. A message that is
// not a notification is listed too: after its last receive, SQS moves it to
// the queue's dead-letter queue.
func (h *Handler) SQS(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, m := range ev.Records {
		log := h.log.With("message", m.MessageId)
		objs, err := objects([]byte(m.Body), 0)
		if err == nil {
			var r Result
			r, err = h.handle(ctx, objs)
			log.Debug("sqs message", "counted", r.Counted, "already_counted", r.AlreadyCounted, "ignored", r.Ignored)
		}
		if err != nil {
			log.Warn("sqs message to retry", "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp
}

// Object counts the image that the object bucket/key is, unless it is
// counted already. Objects that are not images of the raw bucket (masks,
// meta.json, other buckets) are ignored. A *BusyError or an error wrapping
// ErrNoRow means: try again later.
func (h *Handler) Object(ctx context.Context, bucket, key string) (Outcome, error) {
	log := h.log.With("bucket", bucket, "key", key)
	if bucket != h.c.RawBucket {
		log.Warn("ignored: not the raw bucket", "raw_bucket", h.c.RawBucket)
		return Ignored, nil
	}
	if err := blob.ValidKey(key); err != nil {
		log.Warn("ignored: not a key of this system", "err", err)
		return Ignored, nil
	}
	if !strings.HasPrefix(path.Base(key), "image.") {
		log.Debug("ignored: not an image object")
		return Ignored, nil
	}
	img, err := h.jobs.ImageByRawKey(ctx, key)
	if errors.Is(err, db.ErrNotFound) {
		return "", fmt.Errorf("%w (the receiver writes it after the objects)", ErrNoRow)
	}
	if err != nil {
		return "", err
	}
	log = log.With("item", img.ItemID)
	if img.State == db.StateCounted {
		log.Info("already counted")
		return AlreadyCounted, nil
	}
	name := h.workerName(ctx)
	job, claimed, err := h.jobs.ClaimItemJob(ctx, img.ItemID, name, h.lease(ctx))
	if err != nil {
		return "", err
	}
	if !claimed {
		switch job.State {
		case db.JobDone:
			log.Info("already counted")
			return AlreadyCounted, nil
		case db.JobFailed:
			log.Warn("counting failed for good before; not tried again", "err", job.LastError)
			return Failed, nil
		}
		return "", &BusyError{Item: img.ItemID, Worker: job.Worker, Until: job.LeaseUntil}
	}
	if err := h.p.Process(ctx, job, name); err != nil {
		return "", fmt.Errorf("count %s (attempt %d): %w", img.ItemID, job.Attempts, err)
	}
	return Counted, nil
}

// Sweep counts ready jobs from the queue (the oldest first, as the
// in-process workers take them) until none is ready, SweepMax are done, or
// less than SweepReserve is left before the deadline.
func (h *Handler) Sweep(ctx context.Context) (Result, error) {
	var r Result
	name := h.workerName(ctx)
	for r.Swept+r.SweepErrors < h.c.SweepMax {
		if d, ok := ctx.Deadline(); ok && time.Until(d) < h.c.SweepReserve {
			break
		}
		job, err := h.jobs.ClaimJob(ctx, name, h.lease(ctx))
		if errors.Is(err, db.ErrNoJob) {
			break
		}
		if err != nil {
			return r, fmt.Errorf("sweep: %w", err)
		}
		if err := h.p.Process(ctx, job, name); err != nil {
			if ctx.Err() != nil {
				return r, fmt.Errorf("sweep: %w", ctx.Err())
			}
			r.SweepErrors++
			continue
		}
		r.Swept++
	}
	h.log.Info("sweep done", "counted", r.Swept, "errors", r.SweepErrors)
	return r, nil
}

// workerName is the name recorded in a job: Config.Worker and the
// invocation's request id.
func (h *Handler) workerName(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return h.c.Worker + "/" + lc.AwsRequestID
	}
	return h.c.Worker
}

// lease lasts until the invocation's deadline and LeaseSlack beyond: if the
// function is stopped there, the job can be taken again soon after.
func (h *Handler) lease(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		if l := time.Until(d) + h.c.LeaseSlack; l > 0 {
			return l
		}
		return h.c.LeaseSlack
	}
	return h.c.Lease
}
