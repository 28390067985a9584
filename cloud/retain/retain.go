package retain

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
)

// Rows is what Retainer needs of the database (db.DB has it).
type Rows interface {
	RawExpired(ctx context.Context, before time.Time, limit int) ([]db.Image, error)
	MarkRawDeleted(ctx context.Context, itemID string, at time.Time) error
}

// Deleter is what Retainer and PurgeDevice need of a blob store.
type Deleter interface {
	Delete(ctx context.Context, bucket, key string) error
}

// MetaName is the name of an item's meta.json object beside its raw image
// (cloud/ingest writes it, for reconcile).
const MetaName = "meta.json"

// Config configures a Retainer.
type Config struct {
	After time.Duration // raw images received longer ago than this are deleted
	Every time.Duration // how often to look; 0: After/24, between a second and an hour
	Batch int           // rows per query; 0: 200
	Now   func() time.Time
}

// Retainer deletes raw images once they are older than Config.After.
type Retainer struct {
	c     Config
	rows  Rows
	blobs Deleter
	log   *slog.Logger
}

// New returns a Retainer; c.After must be positive.
func New(c Config, rows Rows, blobs Deleter, log *slog.Logger) (*Retainer, error) {
	if c.After <= 0 {
		return nil, fmt.Errorf("retain raw images: duration %v is not positive", c.After)
	}
	if c.Every <= 0 {
		c.Every = min(max(c.After/24, time.Second), time.Hour)
	}
	if c.Batch <= 0 {
		c.Batch = 200
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Retainer{c: c, rows: rows, blobs: blobs, log: log.With("component", "retain")}, nil
}

// Run deletes expired raw images now and every Config.Every until ctx
// ends. A failed pass is logged and tried again at the next.
func (r *Retainer) Run(ctx context.Context) error {
	r.log.Info("raw images are deleted after a while", "after", r.c.After.String(), "every", r.c.Every.String())
	t := time.NewTicker(r.c.Every)
	defer t.Stop()
	for {
		if n, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("retention pass failed; tried again later", "deleted", n, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once deletes the raw objects (the image and meta.json; a device's mask
// is kept) of every image received more than Config.After ago whose
// counting is over, and marks each row, and returns how many it let go.
func (r *Retainer) Once(ctx context.Context) (int, error) {
	before := r.c.Now().Add(-r.c.After)
	n := 0
	for {
		imgs, err := r.rows.RawExpired(ctx, before, r.c.Batch)
		if err != nil {
			return n, err
		}
		for _, img := range imgs {
			for _, k := range []string{img.RawKey, path.Join(path.Dir(img.RawKey), MetaName)} {
				if err := r.blobs.Delete(ctx, blob.Raw, k); err != nil {
					return n, fmt.Errorf("delete raw object of %s: %w", img.ItemID, err)
				}
			}
			if err := r.rows.MarkRawDeleted(ctx, img.ItemID, r.c.Now()); err != nil {
				return n, err
			}
			r.log.Debug("raw image deleted", "item", img.ItemID, "key", img.RawKey, "received_at", img.ReceivedAt)
			n++
		}
		if len(imgs) < r.c.Batch {
			if n > 0 {
				r.log.Info("raw images deleted", "count", n, "received_before", before)
			}
			return n, nil
		}
	}
}
