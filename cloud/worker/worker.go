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
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "golang.org/x/image/tiff"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/ortho"
	"github.com/canopy-forest/canopy/cloud/place"
	"github.com/canopy-forest/canopy/cloud/raster"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/internal/rgba"
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
	// GSDDefault is the ground sample distance (metres per pixel) an image
	// that carries none is counted at; such counts are marked gsd_source
	// "default". 0 = the counter's own (0.1 m for the shipped models).
	GSDDefault float64
	// Ortho tunes the window-by-window counting of TIFF images (GeoTIFF
	// orthophotos), read through GDAL (package ortho).
	Ortho ortho.Options
	// TempDir holds orthophotos fetched for counting ("" = os.TempDir()).
	TempDir string
	// Counters gives the counter a recount asks for (a job whose Method or
	// ModelSHA256 is not the pool's own counter's); nil: such jobs fail.
	Counters Counters
}

// Counters gives the counter of a method and a model (the SHA-256 of an
// ONNX detector; "" for the method's default). Counters it gives stay
// open: it owns them.
type Counters interface {
	Counter(ctx context.Context, method, modelSHA256 string) (count.Counter, error)
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
	counter, err := p.counterFor(ctx, job) // recount.go
	var rec db.CountRecord
	if err == nil {
		rec, err = p.process(ctx, job.ItemID, counter)
	}
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
	p.scanChanged(ctx, job.ItemID, log)
	return nil
}

// scanMarker is what a Jobs that registers scans has (db.DB): a counted
// photo marks its scan to be registered again (see Registrar).
type scanMarker interface {
	MarkScanChanged(ctx context.Context, scanID string) error
}

// scanChanged marks the scan of a counted image changed, when the
// database registers scans. A failure is logged: the count stands, and
// the scan is registered at its next change.
func (p *Pool) scanChanged(ctx context.Context, itemID string, log *slog.Logger) {
	m, ok := p.jobs.(scanMarker)
	if !ok {
		return
	}
	img, err := p.jobs.GetImage(ctx, itemID)
	if err == nil && img.ScanID != "" {
		err = m.MarkScanChanged(ctx, img.ScanID)
	}
	if err != nil {
		log.Warn("mark scan changed for registration", "err", err)
	}
}

func (p *Pool) process(ctx context.Context, itemID string, counter count.Counter) (db.CountRecord, error) {
	img, err := p.jobs.GetImage(ctx, itemID)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("image row: %w", err)
	}
	if isTIFF(img.RawKey) && raster.Available() == nil {
		return p.processRaster(ctx, img, counter)
	}
	raw, _, err := p.blobs.Get(ctx, blob.Raw, img.RawKey)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("raw image: %w", err)
	}
	decoded, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("decode raw image: %w", err)
	}
	frame := rgba.Of(decoded)
	gsd, source := p.gsd(img.GSD, img.GSDSource, counter)
	res, err := count.CountAt(ctx, counter, frame, gsd)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("count: %w", err)
	}
	where := place.FromDB(img)
	where.Width, where.Height = frame.Rect.Dx(), frame.Rect.Dy()
	pl, perr := place.New(where)
	return p.store(ctx, img, frame, 1, res, place.Boxes(pl, res.Boxes), place.Placement(pl, perr, gsd, source))
}

// gsd is the ground sample distance to count an image at: its own, or the
// default (marked so).
func (p *Pool) gsd(own float64, source string, counter count.Counter) (float64, string) {
	if own > 0 {
		return own, source
	}
	if p.c.GSDDefault > 0 {
		return p.c.GSDDefault, db.GSDDefault
	}
	return count.ModelGSDOf(counter), db.GSDDefault
}

// processRaster counts a TIFF window by window (never decoding it whole):
// it is fetched to a temporary file and read through GDAL.
func (p *Pool) processRaster(ctx context.Context, img db.Image, counter count.Counter) (db.CountRecord, error) {
	dir, err := os.MkdirTemp(p.c.TempDir, "canopy-raster-")
	if err != nil {
		return db.CountRecord{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "image.tif")
	if _, err := blob.GetFile(ctx, p.blobs, blob.Raw, img.RawKey, path); err != nil {
		return db.CountRecord{}, fmt.Errorf("raw image: %w", err)
	}
	in, err := raster.Inspect(ctx, path)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("read raster: %w", err)
	}
	where := place.FromDB(img)
	where.Width, where.Height = in.Width, in.Height
	own, source := img.GSD, img.GSDSource
	if where.GeoRef == nil && in.GeoRef != nil {
		where.GeoRef = in.GeoRef
	}
	if own <= 0 && where.GeoRef != nil {
		if v := photo.PixelSizeM(*where.GeoRef); v > 0 {
			own, source = v, photo.SourceGeoTIFF
		}
	}
	gsd, source := p.gsd(own, source, counter)
	res, _, err := ortho.Count(ctx, counter, path, in, gsd, p.c.Ortho)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("count: %w", err)
	}
	pl, perr := place.New(where)
	view, f, err := ortho.Overview(ctx, path, in, OverviewSide)
	if err != nil {
		return db.CountRecord{}, fmt.Errorf("overview: %w", err)
	}
	return p.store(ctx, img, view, f, res, place.Boxes(pl, res.Boxes), place.Placement(pl, perr, gsd, source))
}

// OverviewSide is the longest side of the annotated image of an orthophoto.
const OverviewSide = 2048

// store writes the annotated image and the mask of view (the image, or an
// overview of it whose pixels are f image pixels) and returns the record.
func (p *Pool) store(ctx context.Context, img db.Image, view *image.RGBA, f float64, res count.Result, boxes []db.Box, pl db.Placement) (db.CountRecord, error) {
	drawn := res.Boxes
	if f != 1 {
		drawn = make([]count.Box, len(res.Boxes))
		for i, b := range res.Boxes {
			drawn[i] = b.Scale(1 / f)
		}
	}
	annotated := count.Draw(view, drawn, color.RGBA{255, 40, 40, 255}, count.LineWidth(view.Rect.Dx(), view.Rect.Dy()))
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, annotated, &jpeg.Options{Quality: 85}); err != nil {
		return db.CountRecord{}, fmt.Errorf("encode annotated: %w", err)
	}
	mask, err := p.mask(ctx, img, view.Bounds(), drawn)
	if err != nil {
		return db.CountRecord{}, err
	}
	device := img.Device
	if device == "" {
		device = "upload"
	}
	aName, mName := objectNames(img, res.Info) // recount.go
	aKey := blob.Key(device, img.CapturedAt, img.ItemID, aName)
	mKey := blob.Key(device, img.CapturedAt, img.ItemID, mName)
	if err := p.blobs.Put(ctx, blob.Processed, aKey, jb.Bytes(), "image/jpeg"); err != nil {
		return db.CountRecord{}, fmt.Errorf("store annotated: %w", err)
	}
	if err := p.blobs.Put(ctx, blob.Processed, mKey, mask, "image/png"); err != nil {
		return db.CountRecord{}, fmt.Errorf("store mask: %w", err)
	}
	return db.CountRecord{
		ItemID: img.ItemID, Count: res.Count, Boxes: boxes,
		Method: res.Method, Model: res.Model, ModelSHA256: res.ModelSHA256,
		AnnotatedKey: aKey, MaskKey: mKey, Placement: pl,
	}, nil
}

func isTIFF(key string) bool {
	k := strings.ToLower(key)
	return strings.HasSuffix(k, ".tif") || strings.HasSuffix(k, ".tiff")
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
