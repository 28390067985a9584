package datacmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/recount"
	"github.com/canopy-forest/canopy/internal/cli"
)

// recountOut is what recount prints with --json.
type recountOut struct {
	Scan        string    `json:"scan,omitempty"`
	Since       time.Time `json:"since,omitzero"`
	Method      string    `json:"method,omitempty"`       // "": the workers' own counter
	ModelSHA256 string    `json:"model_sha256,omitempty"` // the model it asks for
	db.Recounted
}

// Recount is canopy-cloud recount.
var Recount = cli.Command{Name: "recount", Summary: "count a scan's images (or those since a time) again, with another model or method", Run: cmdRecount}

func cmdRecount(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("recount", flag.ContinueOnError)
	cli.SetUsage(fs, `usage: canopy-cloud recount --scan ID | --since T [--model FILE | --method M] [flags]

Queues the count jobs of stored images again; serve's workers (or the
Lambda function) count them. Each new count records its model's SHA-256
and becomes the image's newest; the counts it replaces are kept
(GET /v1/images/{id}/counts; ?model= on the image and scan endpoints).
--model FILE is stored in the blob store (processed/models/<sha256>.onnx)
for every worker to fetch. Without --model or --method the workers' own
counter counts. Flags:`)
	scanID := fs.String("scan", "", "the images of scan `id`")
	since := fs.String("since", "", "the images captured at or after `T` (RFC 3339 time or date)")
	model := fs.String("model", "", "count with this ONNX crown detector `file`")
	method := fs.String("method", "", "count with this method: auto, learned (the workers' default model) or classical")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	site.StoreFlags(fs, &c)
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	q := db.RecountQuery{ScanID: *scanID, Method: *method}
	var errs []error
	if *scanID == "" && *since == "" {
		errs = append(errs, errors.New("give --scan ID or --since T (or both)"))
	}
	if *since != "" {
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			t, err = time.Parse(time.DateOnly, *since)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--since %q: want an RFC 3339 time or a date", *since))
		}
		q.Since = t
	}
	if *method != "" {
		if err := (auto.Config{Method: *method}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("--method: %w", err))
		}
	}
	if *model != "" {
		if *method != "" && *method != auto.Learned {
			errs = append(errs, fmt.Errorf("--model is a learned detector: --method %s takes none", *method))
		}
		if st, err := os.Stat(*model); err != nil || !st.Mode().IsRegular() {
			errs = append(errs, fmt.Errorf("--model %s: not a file", *model))
		}
		q.Method = auto.Learned
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var r db.Recounted
	err := site.WithStore(c, func(ctx context.Context, d *db.DB, blobs blob.Store) (err error) {
		if *model != "" {
			if q.ModelSHA256, err = recount.PutModel(ctx, blobs, *model); err != nil {
				return err
			}
		}
		if r, err = d.QueueRecount(ctx, q); err != nil {
			return err
		}
		subject := q.ScanID
		if subject == "" {
			subject = "since " + q.Since.Format(time.RFC3339)
		}
		return site.Audit(ctx, d, db.AuditRecount, subject, fmt.Sprintf("method %q, model %q, %d images queued", q.Method, q.ModelSHA256, r.Queued))
	})
	if err != nil {
		return err
	}
	out := recountOut{Scan: q.ScanID, Since: q.Since, Method: q.Method, ModelSHA256: q.ModelSHA256, Recounted: r}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	counter := "the workers' own counter"
	if q.Method != "" {
		counter = q.Method
	}
	if q.ModelSHA256 != "" {
		counter += " with model " + q.ModelSHA256
	}
	fmt.Printf("recount: %d images queued for %s; %d already queued or counting (not queued again), %d with no raw image left (retention), %d evicted on their device\n",
		r.Queued, counter, r.Busy, r.RawDeleted, r.Evicted)
	return nil
}
