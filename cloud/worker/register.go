package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/register"
	"github.com/canopy-forest/canopy/cloud/scan"
	"github.com/canopy-forest/canopy/internal/libjpeg"
	"github.com/canopy-forest/canopy/internal/rgba"
)

// Registrations is what the registrar needs of the database (db.DB has
// it).
type Registrations interface {
	ClaimRegistration(ctx context.Context, worker string, lease, settle time.Duration) (db.RegistrationClaim, error)
	FinishRegistration(ctx context.Context, c db.RegistrationClaim, r db.ScanRegistration) error
	FailRegistration(ctx context.Context, c db.RegistrationClaim, reason string, retry time.Duration) error
	GetRegistration(ctx context.Context, scanID string) (db.ScanRegistration, error)
	RegistrationPairs(ctx context.Context, scanID string) ([]db.RegistrationPair, error)
	SaveRegisteredPhoto(ctx context.Context, scanID string, p db.RegisteredPhoto) error
	SaveRegistrationPair(ctx context.Context, scanID string, p db.RegistrationPair) error
	EachScanImage(ctx context.Context, scanID string, fn func(db.Image) error) error
}

// RegistrarConfig configures the registrar.
type RegistrarConfig struct {
	Name   string        // worker name; "" = "register"
	Lease  time.Duration // how long a scan is held; 0 = 15 minutes
	Poll   time.Duration // idle poll interval; 0 = 2 s
	Settle time.Duration // wait after a scan's first new count before registering it; 0 = 5 s, negative = none
	Retry  time.Duration // delay after a failed attempt; 0 = 1 minute
	// Match and Pairs tune feature matching and pair selection.
	Match register.Options
	Pairs register.PairOptions
	// MosaicSide bounds the mosaic's longer side (pixels); 0 = 4096.
	MosaicSide int
	// CacheBytes bounds the keypoints held in memory during a run; 0 =
	// 64 MiB.
	CacheBytes int
}

// Registrar registers the photos of scans to each other by their content
// (package cloud/register), in the cloud workers after the photos are
// counted: a counted photo marks its scan changed (db.MarkScanChanged),
// and the registrar claims a changed scan, finds the keypoints of its new
// photos (kept in the processed bucket, so they are found once), matches
// only the pairs not matched before, adjusts the whole scan, places it on
// the ground, merges its trees, draws its mosaic and records all of it.
// Running it again on an unchanged scan matches nothing new.
type Registrar struct {
	c     RegistrarConfig
	regs  Registrations
	blobs blob.Store
	log   *slog.Logger
}

// NewRegistrar returns a registrar.
func NewRegistrar(c RegistrarConfig, regs Registrations, blobs blob.Store, log *slog.Logger) *Registrar {
	if c.Name == "" {
		c.Name = "register"
	}
	if c.Lease <= 0 {
		c.Lease = 15 * time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Second
	}
	if c.Settle == 0 {
		c.Settle = 5 * time.Second
	} else if c.Settle < 0 {
		c.Settle = 0
	}
	if c.Retry <= 0 {
		c.Retry = time.Minute
	}
	if c.MosaicSide <= 0 {
		c.MosaicSide = 4096
	}
	if c.CacheBytes <= 0 {
		c.CacheBytes = 64 << 20
	}
	c.Match = c.Match.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registrar{c: c, regs: regs, blobs: blobs, log: log.With("component", "register")}
}

// Run registers changed scans until ctx ends.
func (r *Registrar) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		did, err := r.Once(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("claim registration", "err", err)
		}
		if did {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.c.Poll):
		}
	}
	return nil
}

// Once claims one changed scan and registers it. It reports whether a
// scan was claimed; the error is about claiming (a failed registration is
// recorded with FailRegistration and logged).
func (r *Registrar) Once(ctx context.Context) (bool, error) {
	c, err := r.regs.ClaimRegistration(ctx, r.c.Name, r.c.Lease, r.c.Settle)
	if errors.Is(err, db.ErrNoJob) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	log := r.log.With("scan", c.ScanID)
	reg, err := r.Register(ctx, c.ScanID)
	if err != nil && ctx.Err() != nil {
		log.Info("stopped mid-registration; the scan is claimed again after its lease", "err", err)
		return true, nil
	}
	if err == nil {
		err = r.regs.FinishRegistration(ctx, c, reg)
	}
	if err != nil {
		log.Warn("registration failed", "err", err, "attempt", c.Attempts)
		if ferr := r.regs.FailRegistration(context.WithoutCancel(ctx), c, err.Error(), r.c.Retry); ferr != nil {
			log.Error("fail registration", "err", ferr)
		}
		return true, nil
	}
	st := reg.Stats
	log.Info("registered", "state", reg.State, "photos", st.Photos, "photos_registered", st.Registered,
		"blocks", st.Blocks, "pairs_matched", st.PairsMatched, "pairs_rejected", st.PairsRejected, "new_pairs", st.NewPairs,
		"repeats_merged", st.RepeatsMerged, "reprojection_error_m", round3(st.ReprojErrorM), "seconds", round3(st.Seconds))
	return true, nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// regPhoto is one photo of the scan being registered.
type regPhoto struct {
	img db.Image // without its count
	gsd float64  // metres per original pixel (the count's)
	reg db.RegisteredPhoto
	err string // why it has no keypoints
}

// Register registers the photos of a scan and returns what to record
// (FinishRegistration records it; Register writes only the keypoints,
// views, pairs and mosaic objects, all of which a later run reuses).
func (r *Registrar) Register(ctx context.Context, scanID string) (db.ScanRegistration, error) {
	start := time.Now()
	out := db.ScanRegistration{ScanID: scanID, State: db.RegDone}
	prev, err := r.regs.GetRegistration(ctx, scanID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return out, err
	}
	known := map[string]db.RegisteredPhoto{}
	for _, p := range prev.Photos {
		known[p.ItemID] = p
	}
	var photos []*regPhoto
	err = r.regs.EachScanImage(ctx, scanID, func(img db.Image) error {
		if !registrable(img) {
			return nil
		}
		p := &regPhoto{img: img, reg: known[img.ItemID]}
		p.reg.ItemID = img.ItemID
		p.reg.Block, p.reg.ToFrame, p.reg.Geo, p.reg.Note = -1, nil, false, ""
		if img.Count != nil {
			p.gsd = img.Count.GSD
		}
		if p.gsd <= 0 {
			p.gsd = img.GSD
		}
		p.img.Count = nil
		photos = append(photos, p)
		return nil
	})
	if err != nil {
		return out, err
	}
	out.Stats.Photos = len(photos)
	var sol register.Solution
	var rp []register.Photo
	var pairs map[[2]string]db.RegistrationPair
	var frames []register.Frame
	var plane *geo.Plane
	if aerr := register.Available(); aerr != nil {
		out.State, out.Note = db.RegUnavailable, aerr.Error()
	} else {
		t := time.Now()
		if err := r.features(ctx, scanID, photos, &out.Stats); err != nil {
			return out, err
		}
		out.Stats.FeaturesSeconds = time.Since(t).Seconds()
		var ok []*regPhoto
		for _, p := range photos {
			if p.err == "" {
				ok = append(ok, p)
			}
		}
		plane = scanPlane(ok)
		rp = registerPhotos(ok, plane)
		t = time.Now()
		if pairs, sol, err = r.match(ctx, scanID, ok, rp, &out.Stats); err != nil {
			return out, err
		}
		out.Stats.MatchSeconds = time.Since(t).Seconds()
		frames = r.place(ok, rp, sol, plane, pairs, &out)
		photos = append(ok, failed(photos)...)
	}
	for _, p := range photos {
		if p.reg.Block < 0 || p.reg.ToFrame == nil {
			p.reg.Block, p.reg.ToFrame, p.reg.Geo = -1, nil, false
			out.Stats.Unregistered++
		} else {
			out.Stats.Registered++
		}
		out.Photos = append(out.Photos, p.reg)
	}
	res, found, merged, err := r.merge(ctx, scanID, out, pairs)
	if err != nil {
		return out, err
	}
	out.Stats.Detections = res.Detections
	out.Stats.RepeatsMerged, out.Stats.BetterViews, out.Stats.MergedByPosition = res.RepeatsMerged, res.BetterViews, res.MergedByPosition
	out.Stats.RepeatsFound, out.Stats.RepeatsFoundMerged = found, merged
	out.Stats.AreaM2 = res.AreaM2
	if res.AreaM2 > 0 {
		out.Stats.SeenTwice = res.SeenTwiceM2 / res.AreaM2
	}
	if out.State == db.RegDone && out.Stats.Registered > 0 {
		t := time.Now()
		m, err := r.mosaic(ctx, scanID, photos, frames, res)
		if err != nil {
			return out, err
		}
		out.Mosaic = m
		out.Stats.MosaicSeconds = time.Since(t).Seconds()
	}
	if out.State == db.RegDone && out.Stats.Registered == 0 {
		out.Note = "no photo registered: the scan is merged by position"
	}
	out.Stats.Seconds = time.Since(start).Seconds()
	return out, nil
}

// registrable: a photo stored whole (not evicted, not failed, not a
// GeoTIFF orthophoto, which is placed exactly already).
func registrable(img db.Image) bool {
	return img.RawKey != "" && img.State != db.StateImageEvicted && img.State != db.StateFailed && !isTIFF(img.RawKey) && img.GeoRef == nil
}

func failed(photos []*regPhoto) []*regPhoto {
	var out []*regPhoto
	for _, p := range photos {
		if p.err != "" {
			p.reg.Note = p.err
			out = append(out, p)
		}
	}
	return out
}

// features finds the keypoints of the photos that have none yet, and
// stores them and the photo's view.
func (r *Registrar) features(ctx context.Context, scanID string, photos []*regPhoto, st *db.RegistrationStats) error {
	for _, p := range photos {
		if p.reg.FeaturesKey != "" && p.reg.ViewKey != "" {
			continue
		}
		raw, _, err := r.blobs.Get(ctx, blob.Raw, p.img.RawKey)
		if err != nil {
			return fmt.Errorf("photo %s: raw image: %w", p.img.ItemID, err)
		}
		view, scale, err := decodeView(raw, r.c.Match.MatchSide)
		if err != nil {
			p.err = "cannot decode: " + err.Error()
			continue
		}
		f, err := register.Extract(view, scale, r.c.Match)
		if err != nil {
			return fmt.Errorf("photo %s: %w", p.img.ItemID, err)
		}
		vj, err := encodeJPEG(view, 85)
		if err != nil {
			return fmt.Errorf("photo %s: %w", p.img.ItemID, err)
		}
		device := p.img.Device
		if device == "" {
			device = "upload"
		}
		fk := blob.Key(device, p.img.CapturedAt, p.img.ItemID, "features.bin")
		vk := blob.Key(device, p.img.CapturedAt, p.img.ItemID, "view.jpg")
		if err := r.blobs.Put(ctx, blob.Processed, fk, f.Encode(), "application/octet-stream"); err != nil {
			return fmt.Errorf("photo %s: store keypoints: %w", p.img.ItemID, err)
		}
		if err := r.blobs.Put(ctx, blob.Processed, vk, vj, "image/jpeg"); err != nil {
			return fmt.Errorf("photo %s: store view: %w", p.img.ItemID, err)
		}
		p.reg = db.RegisteredPhoto{ItemID: p.img.ItemID, FeaturesKey: fk, ViewKey: vk, ViewWidth: f.Width, ViewHeight: f.Height,
			ViewScale: f.Scale, Keypoints: f.Len(), Block: -1}
		if err := r.regs.SaveRegisteredPhoto(ctx, scanID, p.reg); err != nil {
			return err
		}
		st.NewPhotos++
	}
	return nil
}

// decodeView decodes a photo shrunk so that its longer side is at most
// side pixels (JPEG through libjpeg-turbo's DCT scaling where the build
// has it), and returns it with the photo's pixels per view pixel.
func decodeView(raw []byte, side int) (*image.RGBA, float64, error) {
	if libjpeg.Supported && len(raw) > 2 && raw[0] == 0xFF && raw[1] == 0xD8 {
		full, _, err := libjpeg.Size(raw, 1)
		if err == nil {
			denom := 1
			for _, d := range []int{2, 4, 8} {
				if w, h := libjpeg.ScaledSize(full.X, full.Y, denom); max(w, h) <= side {
					break
				}
				denom = d
			}
			img, err := libjpeg.Decode(raw, denom, nil)
			if err != nil {
				return nil, 0, err
			}
			view, _ := register.Shrink(img, side)
			return view, float64(full.X) / float64(view.Rect.Dx()), nil
		}
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, 0, err
	}
	view, _ := register.Shrink(rgba.Of(img), side)
	return view, float64(img.Bounds().Dx()) / float64(view.Rect.Dx()), nil
}

func encodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	if libjpeg.Supported {
		return libjpeg.Encode(img, quality)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// scanPlane is the tangent plane at the first photo with a GPS position,
// or nil.
func scanPlane(photos []*regPhoto) *geo.Plane {
	for _, p := range photos {
		if p.img.Lat != nil && p.img.Lon != nil {
			pl := geo.NewPlane(geo.LonLat{Lon: *p.img.Lon, Lat: *p.img.Lat})
			return &pl
		}
	}
	return nil
}

// registerPhotos is what package register knows of the photos: views,
// and GPS positions and nadir camera models on the plane where known.
func registerPhotos(photos []*regPhoto, pl *geo.Plane) []register.Photo {
	out := make([]register.Photo, len(photos))
	for i, p := range photos {
		q := register.Photo{ID: p.img.ItemID, Width: p.reg.ViewWidth, Height: p.reg.ViewHeight}
		if pl != nil && p.img.Lat != nil && p.img.Lon != nil {
			pos := geo.LonLat{Lon: *p.img.Lon, Lat: *p.img.Lat}
			q.Centre[0], q.Centre[1] = pl.ToXY(pos)
			q.HasCentre = true
			w, h := p.img.Width, p.img.Height
			if w <= 0 || h <= 0 {
				w, h = int(float64(q.Width)*p.reg.ViewScale), int(float64(q.Height)*p.reg.ViewScale)
			}
			if c, err := geo.NewNadir(pos, p.img.GSD, p.img.YawDeg, p.img.GimbalPitchDeg, w, h); err == nil {
				s := p.reg.ViewScale
				g := register.AffineOf(func(x, y float64) (float64, float64) {
					ex, ny := c.XY(x*s, y*s)
					return ex + q.Centre[0], ny + q.Centre[1]
				})
				q.Ground = &g
			}
		}
		out[i] = q
	}
	return out
}

// pairKey orders a pair's item ids.
func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// featureCache holds keypoints read from the blob store, the least
// recently used dropped beyond a byte bound.
type featureCache struct {
	max, size int
	tick      int
	m         map[string]*cached
}

type cached struct {
	f    *register.Features
	used int
}

func (c *featureCache) get(ctx context.Context, blobs blob.Store, key string) (*register.Features, error) {
	c.tick++
	if e, ok := c.m[key]; ok {
		e.used = c.tick
		return e.f, nil
	}
	b, _, err := blobs.Get(ctx, blob.Processed, key)
	if err != nil {
		return nil, fmt.Errorf("keypoints %s: %w", key, err)
	}
	f, err := register.DecodeFeatures(b)
	if err != nil {
		return nil, fmt.Errorf("keypoints %s: %w", key, err)
	}
	for c.size+f.Bytes() > c.max && len(c.m) > 0 {
		var old string
		for k, e := range c.m {
			if old == "" || e.used < c.m[old].used {
				old = k
			}
		}
		c.size -= c.m[old].f.Bytes()
		delete(c.m, old)
	}
	c.m[key] = &cached{f: f, used: c.tick}
	c.size += f.Bytes()
	return f, nil
}

// match matches the candidate pairs not matched before (first those that
// GPS footprints or capture order give, then those the registration so
// far predicts, guided by it), records each, and solves the scan.
func (r *Registrar) match(ctx context.Context, scanID string, photos []*regPhoto, rp []register.Photo, st *db.RegistrationStats) (map[[2]string]db.RegistrationPair, register.Solution, error) {
	rows, err := r.regs.RegistrationPairs(ctx, scanID)
	if err != nil {
		return nil, register.Solution{}, err
	}
	pairs := map[[2]string]db.RegistrationPair{}
	for _, p := range rows {
		pairs[[2]string{p.ItemA, p.ItemB}] = p
	}
	cache := &featureCache{max: r.c.CacheBytes, m: map[string]*cached{}}
	run := func(cands []register.Candidate) error {
		for _, c := range cands {
			a, b := photos[c.A], photos[c.B]
			if a.img.ItemID > b.img.ItemID {
				a, b = b, a
				if c.Guide != nil {
					c.Guide = &register.Guide{H: c.Guide.H.Inv(), Radius: c.Guide.Radius}
				}
			}
			fa, err := cache.get(ctx, r.blobs, a.reg.FeaturesKey)
			if err != nil {
				return err
			}
			fb, err := cache.get(ctx, r.blobs, b.reg.FeaturesKey)
			if err != nil {
				return err
			}
			m := register.Match(fa, fb, c.Guide, r.c.Match)
			row := db.RegistrationPair{ItemA: a.img.ItemID, ItemB: b.img.ItemID, Why: c.Why, Guided: c.Guide != nil, OK: m.OK,
				Reason: m.Reason, Matches: m.Matches, Inliers: m.Inliers, RMSPx: m.RMS, H: m.H}
			for _, k := range m.Corr {
				row.Corr = append(row.Corr, k)
			}
			if err := r.regs.SaveRegistrationPair(ctx, scanID, row); err != nil {
				return err
			}
			pairs[[2]string{row.ItemA, row.ItemB}] = row
			st.NewPairs++
		}
		return ctx.Err()
	}
	tried := func(a, b int) bool {
		_, ok := pairs[pairKey(photos[a].img.ItemID, photos[b].img.ItemID)]
		return ok
	}
	if err := run(register.SelectPairs(rp, r.c.Pairs, tried)); err != nil {
		return nil, register.Solution{}, err
	}
	sol := solve(photos, pairs)
	// Pairs the registration predicts, matched near where it puts them:
	// new ones, and those tried before without a guide that failed.
	for round := 0; round < 3; round++ {
		state := func(a, b int) register.PairState {
			p, ok := pairs[pairKey(photos[a].img.ItemID, photos[b].img.ItemID)]
			switch {
			case !ok:
				return register.PairNew
			case p.OK || p.Guided:
				return register.PairDone
			}
			return register.PairRetry
		}
		cands := register.Predicted(rp, sol, r.c.Pairs, r.c.Match.GuideRadiusPx, state)
		if len(cands) == 0 {
			break
		}
		if err := run(cands); err != nil {
			return nil, register.Solution{}, err
		}
		sol = solve(photos, pairs)
	}
	idx := index(photos)
	for k, p := range pairs {
		if _, ok := idx[k[0]]; !ok {
			continue
		}
		if _, ok := idx[k[1]]; !ok {
			continue
		}
		st.PairsTried++
		if p.OK {
			st.PairsMatched++
		} else {
			st.PairsRejected++
		}
	}
	st.PairsDropped = len(sol.Dropped)
	return pairs, sol, nil
}

// index maps item ids to their photo's index.
func index(photos []*regPhoto) map[string]int {
	m := make(map[string]int, len(photos))
	for i, p := range photos {
		m[p.img.ItemID] = i
	}
	return m
}

// solve adjusts the registered pairs among photos.
func solve(photos []*regPhoto, pairs map[[2]string]db.RegistrationPair) register.Solution {
	idx := index(photos)
	keys := make([][2]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	var edges []register.Edge
	for _, k := range keys {
		p := pairs[k]
		a, oka := idx[p.ItemA]
		b, okb := idx[p.ItemB]
		if !p.OK || !oka || !okb {
			continue
		}
		e := register.Edge{A: a, B: b, H: register.Mat3(p.H), Inliers: p.Inliers}
		for _, c := range p.Corr {
			e.Corr = append(e.Corr, register.Corr(c))
		}
		edges = append(edges, e)
	}
	return register.Solve(len(photos), edges)
}

// place puts each block on the ground and records each photo's place;
// it returns the blocks' frames.
func (r *Registrar) place(photos []*regPhoto, rp []register.Photo, sol register.Solution, pl *geo.Plane, pairs map[[2]string]db.RegistrationPair, out *db.ScanRegistration) []register.Frame {
	frames := make([]register.Frame, len(sol.Blocks))
	var sumSq, sumSqM, sumGPS float64
	var n, ngps int
	for b, bs := range sol.Blocks {
		ref := photos[bs.Ref]
		f := register.Place(rp, sol, b, ref.gsd*ref.reg.ViewScale)
		frames[b] = f
		out.Stats.Blocks++
		if f.Geo {
			out.Stats.GeoBlocks++
			sumGPS += f.GPSRMS * f.GPSRMS * float64(bs.Photos)
			ngps += bs.Photos
		}
		mpp, _ := metresPerPixel(f.ToMetres)
		sumSq += bs.RMS * bs.RMS * float64(bs.Pairs)
		sumSqM += bs.RMS * mpp * bs.RMS * mpp * float64(bs.Pairs)
		n += bs.Pairs
	}
	if n > 0 {
		out.Stats.ReprojErrorPx, out.Stats.ReprojErrorM = math.Sqrt(sumSq/float64(n)), math.Sqrt(sumSqM/float64(n))
	}
	if ngps > 0 {
		out.Stats.GPSRMSM = math.Sqrt(sumGPS / float64(ngps))
	}
	if out.Stats.GeoBlocks > 0 && pl != nil {
		out.Origin = &[2]float64{pl.Origin.Lon, pl.Origin.Lat}
	}
	for i, p := range photos {
		b := sol.Block[i]
		if b < 0 {
			p.reg.Block, p.reg.Note = -1, unregisteredNote(p.img.ItemID, photos, pairs)
			continue
		}
		t := frames[b].ToMetres.Mul(sol.T[i]).Mul(register.Scale(1 / p.reg.ViewScale))
		m := [9]float64(t)
		p.reg.Block, p.reg.ToFrame, p.reg.Geo, p.reg.Note = b, &m, frames[b].Geo, frames[b].How
	}
	return frames
}

// metresPerPixel is the mean scale of an affine map.
func metresPerPixel(m register.Mat3) (float64, bool) {
	d := m[0]*m[4] - m[1]*m[3]
	return math.Sqrt(math.Abs(d)), d != 0
}

// unregisteredNote says why a photo is in no block: no pair was tried,
// or the best of its pairs (most inliers) and why it was rejected.
func unregisteredNote(id string, photos []*regPhoto, pairs map[[2]string]db.RegistrationPair) string {
	idx := index(photos)
	var best *db.RegistrationPair
	n := 0
	for k, p := range pairs {
		if k[0] != id && k[1] != id {
			continue
		}
		if _, ok := idx[k[0]]; !ok {
			continue
		}
		if _, ok := idx[k[1]]; !ok {
			continue
		}
		n++
		if best == nil || p.Inliers > best.Inliers || p.Inliers == best.Inliers && p.Matches > best.Matches {
			best = &p
		}
	}
	if best == nil {
		return "not registered: no other photo to match (no overlapping footprint, none near in capture order): merged by position"
	}
	other := best.ItemB
	if other == id {
		other = best.ItemA
	}
	reason := best.Reason
	if best.OK {
		reason = "left out as inconsistent with the scan's other pairs"
	}
	return fmt.Sprintf("not registered: %d pairs tried, none kept (best, with %s: %s): merged by position", n, other, reason)
}

// merge merges the scan's trees with the registration and counts the
// repeats that registration found.
func (r *Registrar) merge(ctx context.Context, scanID string, reg db.ScanRegistration, pairs map[[2]string]db.RegistrationPair) (scan.Result, int, int, error) {
	m := scan.NewMerger(scan.Options{})
	m.Register(reg)
	if err := r.regs.EachScanImage(ctx, scanID, func(img db.Image) error { m.Add(img); return nil }); err != nil {
		return scan.Result{}, 0, 0, err
	}
	res := m.Result()
	var ok [][2]string
	for k, p := range pairs {
		if p.OK {
			ok = append(ok, k)
		}
	}
	found, merged := m.Repeats(ok)
	return res, found, merged, nil
}

// MosaicKeys are the object keys (processed bucket) of a scan's mosaic,
// with the trees drawn and plain: under "scans/", by a hash of the scan
// id (never a name a client sent).
func MosaicKeys(scanID string) (annotated, plain string) {
	h := sha256.Sum256([]byte(scanID))
	dir := "scans/" + hex.EncodeToString(h[:12])
	return dir + "/mosaic.jpg", dir + "/mosaic-plain.jpg"
}

// mosaic draws the registered photos into one picture (those on the
// Earth, or else the largest local block), stores it plain and with the
// trees drawn, and says where it lies.
func (r *Registrar) mosaic(ctx context.Context, scanID string, photos []*regPhoto, frames []register.Frame, res scan.Result) (*db.MosaicInfo, error) {
	geoOnly := false
	for _, f := range frames {
		geoOnly = geoOnly || f.Geo
	}
	block := -1
	if !geoOnly {
		size := map[int]int{}
		for _, p := range photos {
			if p.reg.Block >= 0 {
				size[p.reg.Block]++
				if block < 0 || size[p.reg.Block] > size[block] {
					block = p.reg.Block
				}
			}
		}
	}
	in := func(p *regPhoto) bool {
		return p.reg.ToFrame != nil && (geoOnly && p.reg.Geo || !geoOnly && p.reg.Block == block)
	}
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	var res0 []float64
	for _, p := range photos {
		if !in(p) {
			continue
		}
		t := register.Mat3(*p.reg.ToFrame).Mul(register.Scale(p.reg.ViewScale))
		for _, c := range [][2]float64{{0, 0}, {float64(p.reg.ViewWidth), 0}, {float64(p.reg.ViewWidth), float64(p.reg.ViewHeight)}, {0, float64(p.reg.ViewHeight)}} {
			x, y := t.Apply(c[0], c[1])
			x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
		}
		s, _ := metresPerPixel(t)
		res0 = append(res0, s)
	}
	if len(res0) == 0 {
		return nil, nil
	}
	sort.Float64s(res0)
	mo := register.NewMosaic(x0, y0, x1, y1, res0[len(res0)/2], r.c.MosaicSide)
	n := 0
	for _, p := range photos {
		if !in(p) {
			continue
		}
		b, _, err := r.blobs.Get(ctx, blob.Processed, p.reg.ViewKey)
		if err != nil {
			return nil, fmt.Errorf("mosaic: view of %s: %w", p.img.ItemID, err)
		}
		view, _, err := decodeView(b, 1<<16)
		if err != nil {
			return nil, fmt.Errorf("mosaic: view of %s: %w", p.img.ItemID, err)
		}
		mo.Draw(view, register.Mat3(*p.reg.ToFrame).Mul(register.Scale(p.reg.ViewScale)))
		n++
	}
	plain, err := encodeJPEG(mo.Img, 85)
	if err != nil {
		return nil, fmt.Errorf("mosaic: %w", err)
	}
	trees := res.Local
	if geoOnly {
		trees = res.Trees
	}
	drawn := 0
	lw := max(2, mo.Img.Rect.Dx()/800)
	for _, t := range trees {
		if !geoOnly && t.Block != block {
			continue
		}
		mo.Circle(t.X, t.Y, t.CrownM/2, color.RGBA{255, 40, 40, 255}, lw)
		drawn++
	}
	annotated, err := encodeJPEG(mo.Img, 85)
	if err != nil {
		return nil, fmt.Errorf("mosaic: %w", err)
	}
	ak, pk := MosaicKeys(scanID)
	if err := r.blobs.Put(ctx, blob.Processed, pk, plain, "image/jpeg"); err != nil {
		return nil, fmt.Errorf("store mosaic: %w", err)
	}
	if err := r.blobs.Put(ctx, blob.Processed, ak, annotated, "image/jpeg"); err != nil {
		return nil, fmt.Errorf("store mosaic: %w", err)
	}
	return &db.MosaicInfo{Key: ak, PlainKey: pk, Width: mo.Img.Rect.Dx(), Height: mo.Img.Rect.Dy(), X0: mo.X0, Y0: mo.Y0,
		Res: mo.Res, Geo: geoOnly, Photos: n, Trees: drawn}, nil
}
