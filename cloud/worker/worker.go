package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"log/slog"
	"strings"
	"time"

	_ "golang.org/x/image/tiff"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
)

// Jobs is what a worker needs of the database.
type Jobs interface {
	ClaimJob(ctx context.Context, worker string, lease time.Duration) (db.Job, error)
	CompleteJob(ctx context.Context, jobID int64, c db.CountRecord) error
	FailJob(ctx context.Context, jobID int64, reason string) error
	GetImage(ctx context.Context, itemID string) (db.Image, error)
}

// Config configures a pool of workers.
type Config struct {
	Name  string        // worker name prefix; "" = "worker"
	N     int           // workers; 0 = 1
	Lease time.Duration // job lease; 0 = 5 minutes
	Poll  time.Duration // idle poll interval; 0 = 500 ms
}

// Pool is N counting workers sharing one counter.
type Pool struct {
	c       Config
	jobs    Jobs
	blobs   blob.Store
	counter count.Counter
	log     *slog.Logger
}

// New returns a pool. The counter must be safe for concurrent use when N > 1.
func New(c Config, jobs Jobs, blobs blob.Store, counter count.Counter, log *slog.Logger) *Pool {
	if c.Name == "" {
		c.Name = "worker"
	}
	if c.N <= 0 {
		c.N = 1
	}
	if c.Lease <= 0 {
		c.Lease = 5 * time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pool{c: c, jobs: jobs, blobs: blobs, counter: counter, log: log.With("component", "worker")}
}

// Run runs the workers until ctx ends.
func (p *Pool) Run(ctx context.Context) error {
	done := make(chan struct{}, p.c.N)
	for i := range p.c.N {
		name := fmt.Sprintf("%s-%d", p.c.Name, i)
		go func() {
			defer func() { done <- struct{}{} }()
			p.loop(ctx, name)
		}()
	}
	for range p.c.N {
		<-done
	}
	return nil
}

func (p *Pool) loop(ctx context.Context, name string) {
	for ctx.Err() == nil {
		did, err := p.Once(ctx, name)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("claim job", "worker", name, "err", err)
		}
		if did {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(p.c.Poll):
		}
	}
}

// Once claims and processes one job as worker name. It reports whether a
// job was claimed; the error is about claiming (a failed count is recorded
// with FailJob and is not returned).
func (p *Pool) Once(ctx context.Context, name string) (bool, error) {
	job, err := p.jobs.ClaimJob(ctx, name, p.c.Lease)
	if errors.Is(err, db.ErrNoJob) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_ = p.Process(ctx, job, name)
	return true, nil
}

// Process counts the image of a job that worker name has claimed, stores
// the annotated image and the mask, and records the count (CompleteJob),
// or the failure (FailJob: retried after a delay, or failed for good). It
// returns nil once the count is recorded, else why not; every outcome is
// logged. A job stopped by ctx is left to run out its lease.
func (p *Pool) Process(ctx context.Context, job db.Job, name string) error {
	log := p.log.With("item", job.ItemID, "worker", name, "job", job.ID)
	rec, err := p.process(ctx, job.ItemID)
	if err != nil && ctx.Err() != nil {
		// Stopping: the job's lease expires and another worker takes it.
		log.Info("stopped mid-job; the job is claimed again after its lease", "err", err)
		return err
	}
	if err != nil {
		log.Warn("count failed", "err", err)
		if ferr := p.jobs.FailJob(context.WithoutCancel(ctx), job.ID, err.Error()); ferr != nil {
			log.Error("fail job", "err", ferr)
		}
		return err
	}
	if err := p.jobs.CompleteJob(ctx, job.ID, rec); err != nil {
		log.Error("complete job", "err", err)
		return err
	}
	log.Info("counted", "count", rec.Count, "method", rec.Method)
	return nil
}

func (p *Pool) process(ctx context.Context, itemID string) (db.CountRecord, error) {
	img, err := p.jobs.GetImage(ctx, itemID)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("image row: %w", err)
	}
	raw, _, err := p.blobs.Get(ctx, blob.Raw, img.RawKey)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("raw image: %w", err)
	}
	decoded, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("decode raw image: %w", err)
	}
	rgba := toRGBA(decoded)
	res, err := p.counter.Count(ctx, rgba)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("count: %w", err)
	}
	annotated := count.Draw(rgba, res.Boxes, color.RGBA{255, 40, 40, 255}, 2)
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, annotated, &jpeg.Options{Quality: 85}); err != nil {
		return db.CountRecord{}, fmt.Errorf("encode annotated: %w", err)
	}
	mask, err := p.mask(ctx, img, rgba.Bounds(), res.Boxes)
	if err != nil {
		return db.CountRecord{}, err
	}
	device := img.Device
	if device == "" {
		device = "upload"
	}
	aKey := blob.Key(device, img.CapturedAt, itemID, "annotated.jpg")
	mKey := blob.Key(device, img.CapturedAt, itemID, "mask.png")
	if err := p.blobs.Put(ctx, blob.Processed, aKey, jb.Bytes(), "image/jpeg"); err != nil {
		return db.CountRecord{}, fmt.Errorf("store annotated: %w", err)
	}
	if err := p.blobs.Put(ctx, blob.Processed, mKey, mask, "image/png"); err != nil {
		return db.CountRecord{}, fmt.Errorf("store mask: %w", err)
	}
	boxes := res.Boxes
	if boxes == nil {
		boxes = []count.Box{}
	}
	return db.CountRecord{
		ItemID: itemID, Count: res.Count, Boxes: boxes,
		Method: res.Method, Model: res.Model, ModelSHA256: res.ModelSHA256,
		AnnotatedKey: aKey, MaskKey: mKey,
	}, nil
}

// mask is the item's own mask (from the device) when it has one, else a
// rendering of the boxes, as PNG.
func (p *Pool) mask(ctx context.Context, img db.Image, b image.Rectangle, boxes []count.Box) ([]byte, error) {
	if img.MaskKey != "" {
		m, ct, err := p.blobs.Get(ctx, blob.Raw, img.MaskKey)
		if err == nil && strings.Contains(ct, "png") {
			return m, nil
		}
		if err == nil {
			if dm, _, derr := image.Decode(bytes.NewReader(m)); derr == nil {
				var buf bytes.Buffer
				if err := png.Encode(&buf, dm); err == nil {
					return buf.Bytes(), nil
				}
			}
		}
	}
	g := image.NewGray(b)
	for _, bx := range boxes {
		r := image.Rect(int(bx.XMin), int(bx.YMin), int(bx.XMax), int(bx.YMax)).Intersect(b)
		draw.Draw(g, r, image.NewUniform(color.Gray{255}), image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, g); err != nil {
		return nil, fmt.Errorf("encode mask: %w", err)
	}
	return buf.Bytes(), nil
}

func toRGBA(m image.Image) *image.RGBA {
	if r, ok := m.(*image.RGBA); ok {
		return r
	}
	b := m.Bounds()
	r := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(r, r.Bounds(), m, b.Min, draw.Src)
	return r
}
