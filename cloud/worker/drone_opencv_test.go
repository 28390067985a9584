//go:build opencv

package worker_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/register"
	"github.com/canopy-forest/canopy/cloud/worker"
	"github.com/canopy-forest/canopy/internal/photo"
)

// storeDronePhotos stores the named photos of ../shared/data/geo/drone_photos
// as scan scanID, with what their EXIF and XMP say (GPS, GSD, heading,
// pitch), and, when counted, an empty count (else they wait for one).
func storeDronePhotos(t testing.TB, d *db.DB, bs blob.Store, scanID string, names []string, counted bool) {
	t.Helper()
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	ctx := t.Context()
	for i, n := range names {
		raw, err := os.ReadFile(filepath.Join(data, "geo", "drone_photos", "images", n))
		if err != nil {
			t.Fatal(err)
		}
		m := photo.Read(raw)
		g := m.Ground(4000, photo.Options{})
		id := strings.TrimSuffix(n, ".JPG")
		at := time.Date(2016, 6, 23, 16, 30, i, 0, time.UTC)
		key := blob.Key("drone", at, id, "image.jpg")
		if err := bs.Put(ctx, blob.Raw, key, raw, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		img := db.Image{ItemID: id, Device: "drone", CapturedAt: at, Width: 4000, Height: 2250, ScanID: scanID,
			Source: n, RawKey: key, Ground: db.Ground{GSD: g.GSDM, GSDSource: g.Source, YawDeg: m.Yaw(), GimbalPitchDeg: m.GimbalPitchDeg}}
		if m.GPS != nil {
			img.Lat, img.Lon = &m.GPS.Lat, &m.GPS.Lon
		}
		if created, err := d.PutImage(ctx, img); err != nil {
			t.Fatal(err)
		} else if !created || !counted {
			continue
		}
		j, err := d.ClaimJob(ctx, "test", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.CompleteJob(ctx, j.ID, db.CountRecord{ItemID: id, Boxes: []db.Box{}, Method: "none", Placement: db.Placement{GSD: g.GSDM}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRegisterDronePhotos registers six real photos of two neighbouring
// strips flown in opposite directions (DJI_0020 to 0022 and 0025 to 0027
// of ../shared/data/geo/drone_photos): one block placed by GPS, every
// pair matched registered or rejected with its reason, each photo's
// registered centre within metres of its GPS position, a reprojection
// error under a metre (relief: the canopy stands 10 to 20 m over the
// ground seen from 40 m), and a mosaic.
func TestRegisterDronePhotos(t *testing.T) {
	names := []string{"DJI_0020.JPG", "DJI_0021.JPG", "DJI_0022.JPG", "DJI_0025.JPG", "DJI_0026.JPG", "DJI_0027.JPG"}
	d := dbtest.SQLite(t)
	bs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	storeDronePhotos(t, d, bs, "brighton", names, true)
	reg, err := worker.NewRegistrar(worker.RegistrarConfig{}, d, bs, nil).Register(t.Context(), "brighton")
	if err != nil {
		t.Fatal(err)
	}
	st := reg.Stats
	t.Logf("%+v", st)
	if reg.State != db.RegDone || st.Registered != 6 || st.Blocks != 1 || st.GeoBlocks != 1 || reg.Origin == nil || reg.Mosaic == nil ||
		st.PairsMatched < 8 || st.ReprojErrorM > 1 || st.GPSRMSM > 5 {
		t.Fatalf("registration %+v (%s)", st, reg.Note)
	}
	pairs, err := d.RegistrationPairs(t.Context(), "brighton")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		t.Logf("%s-%s %s: ok %v, %d of %d matches, %.1f px %s", p.ItemA, p.ItemB, p.Why, p.OK, p.Inliers, p.Matches, p.RMSPx, p.Reason)
		if !p.OK && p.Reason == "" {
			t.Errorf("pair %s-%s rejected with no reason", p.ItemA, p.ItemB)
		}
	}
	pl := geo.NewPlane(geo.LonLat{Lon: reg.Origin[0], Lat: reg.Origin[1]})
	for _, p := range reg.Photos {
		img, err := d.GetImage(t.Context(), p.ItemID)
		if err != nil || p.ToFrame == nil {
			t.Fatalf("%s: %v, %+v", p.ItemID, err, p)
		}
		gx, gy := pl.ToXY(geo.LonLat{Lon: *img.Lon, Lat: *img.Lat})
		x, y := register.Mat3(*p.ToFrame).Apply(float64(img.Width)/2, float64(img.Height)/2)
		if off := math.Hypot(x-gx, y-gy); off > 5 {
			t.Errorf("%s: registered centre %.1f m from its GPS position", p.ItemID, off)
		}
	}
}
