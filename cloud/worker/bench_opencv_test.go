//go:build opencv

package worker_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/register"
	"github.com/canopy-forest/canopy/cloud/register/registertest"
	"github.com/canopy-forest/canopy/cloud/worker"
	"github.com/canopy-forest/canopy/internal/libjpeg"
)

// BenchmarkScan counts a scan's photos with the learned counter, then
// registers them from scratch, then adds one photo and registers again
// (incrementally), and reports each phase's seconds and the process's
// peak resident memory during it (VmHWM, reset between phases): the
// registration's cost as a ratio of the counting's, measured in the same
// run. Scans: the 18 drone photos of ../shared/data/geo/drone_photos
// (4000 x 2250 at 1.7 cm), and 200 photos of 4000 x 2248 pixels (1.25
// cm) cut at known offsets from one large synthetic scene (enlarged 8
// times), 20 along each of 10 lines flown both ways, with no GPS.
// scripts/bench.d/register.sh runs it with -benchtime 1x.
func BenchmarkScan(b *testing.B) {
	counter, err := auto.New(auto.Config{Method: auto.Learned, ModelPath: modelPath(b)}, nil)
	if err != nil {
		b.Skipf("learned counter: %v", err)
	}
	defer counter.Close()
	b.Run("drone18", func(b *testing.B) {
		data := os.Getenv("CANOPY_SHARED_DATA")
		if data == "" {
			b.Skip("CANOPY_SHARED_DATA is unset")
		}
		ents, err := os.ReadDir(filepath.Join(data, "geo", "drone_photos", "images"))
		if err != nil {
			b.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".JPG") {
				names = append(names, e.Name())
			}
		}
		benchScan(b, counter, func(d *db.DB, bs blob.Store, n int) {
			storeDronePhotos(b, d, bs, "scan", names[:n], false)
		}, len(names), nil)
	})
	b.Run("synthetic200", func(b *testing.B) {
		src := largeImage(b)
		const scale = 8 // 4000 x 2248 photos at 1.25 cm, as a drone's
		photos := registertest.Grid(src.Rect.Dx(), src.Rect.Dy(), 500, 281, 20, 10, true)
		store := func(d *db.DB, bs blob.Store, n int) {
			for i, p := range photos[:n] {
				jpg, err := libjpeg.Encode(p.CutScaled(src, scale), 90)
				if err != nil {
					b.Fatal(err)
				}
				putPhoto(b, d, bs, "scan", fmt.Sprintf("s%03d", i), jpg, time.Duration(i), 0.1/scale)
			}
		}
		benchScan(b, counter, store, len(photos), func(reg db.ScanRegistration) float64 {
			return truthError(reg, photos, scale)
		})
	})
}

// benchScan runs the phases on a scan of n photos that store makes (the
// last one is kept for the incremental run).
func benchScan(b *testing.B, counter count.Counter, store func(d *db.DB, bs blob.Store, n int), n int, truth func(db.ScanRegistration) float64) {
	for range b.N {
		d, err := db.Open(b.Context(), filepath.Join(b.TempDir(), "canopy.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		bs, err := blob.NewLocal(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		store(d, bs, n-1)
		pool := worker.New(worker.Config{}, d, bs, counter, nil)
		countAll := func() {
			for {
				did, err := pool.Once(b.Context(), "bench")
				if err != nil {
					b.Fatal(err)
				}
				if !did {
					return
				}
			}
		}
		r := worker.NewRegistrar(worker.RegistrarConfig{}, d, bs, nil)
		var reg db.ScanRegistration
		register := func() {
			var err error
			if reg, err = r.Register(b.Context(), "scan"); err != nil {
				b.Fatal(err)
			}
			if err := d.FinishRegistration(b.Context(), db.RegistrationClaim{ScanID: "scan", Seq: 1}, reg); err != nil {
				b.Fatal(err)
			}
		}
		_, startMiB := phase(func() {}) // the process with the counter loaded, before the phases
		countS, countMiB := phase(countAll)
		regS, regMiB := phase(register)
		full := reg.Stats
		store(d, bs, n) // the last photo lands (the others are stored already: duplicates change nothing)
		countAll()
		incS, incMiB := phase(register)
		b.ReportMetric(countS, "count_s")
		b.ReportMetric(regS, "register_s")
		b.ReportMetric(regS/countS, "register/count")
		b.ReportMetric(incS, "incremental_s")
		b.ReportMetric(float64(reg.Stats.NewPairs), "incremental_pairs")
		b.ReportMetric(startMiB, "start_MiB")
		b.ReportMetric(countMiB, "count_peak_MiB")
		b.ReportMetric(regMiB, "register_peak_MiB")
		b.ReportMetric(incMiB, "incremental_peak_MiB")
		b.ReportMetric(float64(full.Photos), "photos")
		b.ReportMetric(float64(full.Registered), "photos_registered")
		b.ReportMetric(float64(reg.Stats.Registered), "incremental_registered")
		b.ReportMetric(float64(full.PairsTried), "pairs_tried")
		b.ReportMetric(float64(full.PairsMatched), "pairs_matched")
		b.ReportMetric(full.ReprojErrorM, "reprojection_error_m")
		if truth != nil {
			b.ReportMetric(truth(reg), "truth_error_m")
		}
		b.Logf("full %+v\nincremental %+v", full, reg.Stats)
	}
}

// phase runs f and returns its seconds and the process's peak resident
// memory (MiB) while it ran: /proc/self/clear_refs resets the peak.
func phase(f func()) (seconds, peakMiB float64) {
	runtime.GC()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	start := time.Now()
	f()
	seconds = time.Since(start).Seconds()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return seconds, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kib, _ := strconv.ParseFloat(f[1], 64)
			return seconds, kib / 1024
		}
	}
	return seconds, 0
}

// modelPath is the shipped crown detector.
func modelPath(b *testing.B) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "models", "crown-detector.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// largeImage is a synthetic scene of 2048 x 2048 pixels (0.1 m each:
// 205 m across) with 1500 crowns. (The large real images of the shared
// data are too small for 200 photos, or half no-data.)
func largeImage(b *testing.B) *image.RGBA {
	img, _ := registertest.Scene(2048, 2048, 1500, 11)
	return img
}

// putPhoto stores a JPEG photo of scan with no GPS, at gsd metres per
// pixel, to be counted.
func putPhoto(b *testing.B, d *db.DB, bs blob.Store, scan, id string, jpg []byte, i time.Duration, gsd float64) {
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC).Add(i * time.Second)
	key := blob.Key("bench", at, id, "image.jpg")
	if err := bs.Put(b.Context(), blob.Raw, key, jpg, "image/jpeg"); err != nil {
		b.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.PutImage(b.Context(), db.Image{ItemID: id, Device: "bench", CapturedAt: at, Width: cfg.Width, Height: cfg.Height,
		ScanID: scan, RawKey: key, Ground: db.Ground{GSD: gsd, GSDSource: "config"}}); err != nil {
		b.Fatal(err)
	}
}

// truthError is the RMS distance (metres of the scene, 0.1 m a pixel)
// between the registered centres of the photos and their true centres,
// after the best similarity between the two (a map with no GPS has its
// own origin and heading).
func truthError(reg db.ScanRegistration, photos []registertest.Photo, scale float64) float64 {
	var got, want []complex128
	for _, p := range reg.Photos {
		var i int
		if _, err := fmt.Sscanf(p.ItemID, "s%03d", &i); err != nil || p.ToFrame == nil || i >= len(photos) {
			continue
		}
		w, h := float64(photos[i].Rect.Dx())*scale, float64(photos[i].Rect.Dy())*scale
		x, y := register.Mat3(*p.ToFrame).Apply(w/2, h/2)
		got = append(got, complex(x, y))
		c := photos[i].Rect.Min.Add(photos[i].Rect.Size().Div(2))
		want = append(want, complex(float64(c.X)*0.1, -float64(c.Y)*0.1))
	}
	if len(got) < 2 {
		return math.NaN()
	}
	var mg, mw complex128
	for i := range got {
		mg += got[i]
		mw += want[i]
	}
	n := complex(float64(len(got)), 0)
	mg, mw = mg/n, mw/n
	var num complex128
	var den float64
	for i := range got {
		num += (want[i] - mw) * cmplx.Conj(got[i]-mg)
		den += real((got[i] - mg) * cmplx.Conj(got[i]-mg))
	}
	a := num / complex(den, 0)
	var ss float64
	for i := range got {
		e := a*(got[i]-mg) + mw - want[i]
		ss += real(e * cmplx.Conj(e))
	}
	return math.Sqrt(ss / float64(len(got)))
}
