package worker

import (
	"context"
	"fmt"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
)

// counterFor is the counter a job asks for: the pool's own, unless the
// job (a recount) names another method or model, which Config.Counters
// gives.
func (p *Pool) counterFor(ctx context.Context, job db.Job) (count.Counter, error) {
	own := p.counter.Info()
	if (job.Method == "" || job.Method == own.Method) && (job.ModelSHA256 == "" || job.ModelSHA256 == own.ModelSHA256) {
		return p.counter, nil
	}
	if p.c.Counters == nil {
		return nil, fmt.Errorf("the job asks for counter %q, model %q, and this worker has only its own (%s %s)",
			job.Method, job.ModelSHA256, own.Method, own.ModelSHA256)
	}
	c, err := p.c.Counters.Counter(ctx, job.Method, job.ModelSHA256)
	if err != nil {
		return nil, fmt.Errorf("counter %q, model %q: %w", job.Method, job.ModelSHA256, err)
	}
	return c, nil
}

// objectNames are the names of the annotated image and the mask of a
// count of img by the counter info: annotated.jpg and mask.png for its
// first count, and for a recount names of their own (the model's SHA-256
// prefix, or the method), so that the counts it keeps keep theirs.
func objectNames(img db.Image, info count.Info) (annotated, mask string) {
	if img.Count == nil {
		return blob.NameAnnotated, blob.NameMask
	}
	tag := info.Method
	if len(info.ModelSHA256) >= 12 {
		tag = info.ModelSHA256[:12]
	}
	if tag == "" {
		tag = "recount"
	}
	return "annotated-" + tag + ".jpg", "mask-" + tag + ".png"
}
