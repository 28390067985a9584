package dbtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// Run runs the conformance suite. open returns a new, empty database for
// each subtest (and closes it at the end of that subtest).
func Run(t *testing.T, open func(t *testing.T) *db.DB) {
	tests := []struct {
		name string
		f    func(t *testing.T, d *db.DB)
	}{
		{"Migrations", testMigrations},
		{"PutGetImage", testPutGet},
		{"PutImageIdempotent", testPutIdempotent},
		{"PutImageConcurrent", testPutConcurrent},
		{"PutImageInvalid", testPutInvalid},
		{"ListOrderAndPages", testListPages},
		{"ListFilters", testListFilters},
		{"Scan", testScan},
		{"EachScanImage", testEachScanImage},
		{"Devices", testDevices},
		{"HasRawKey", testHasRawKey},
		{"JobComplete", testJobComplete},
		{"JobLeaseExpires", testJobLease},
		{"JobFail", testJobFail},
		{"JobConcurrentClaims", testJobConcurrent},
		{"ClaimItemJob", testClaimItemJob},
		{"Tokens", testTokens},
		{"TokenExpiryAndDevice", testTokenExpiryAndDevice},
		{"TokenRevoke", testTokenRevoke},
		{"TokenTouch", testTokenTouch},
		{"Staging", testStaging},
		{"AuditAppendOnly", testAudit},
		{"Evicted", testEvicted},
		{"Artifacts", testArtifacts},
		{"Rollouts", testRollouts},
		{"Registration", testRegistration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.f(t, open(t))
		})
	}
}

var t0 = time.Date(2026, 5, 17, 10, 30, 0, 123456000, time.UTC)

func f64(v float64) *float64 { return &v }

// image is a valid image for the tests: item id, device, capture time.
func image(id, device string, at time.Time) db.Image {
	return db.Image{
		ItemID: id, Device: device, Seq: 1, CapturedAt: at, ClockSynced: true,
		Width: 640, Height: 480, ForestShare: 0.5, Segmenter: "classical",
		RawKey: device + "/" + id + "/image.jpg", Origin: db.OriginDevice,
	}
}

func put(t *testing.T, d *db.DB, img db.Image) {
	t.Helper()
	created, err := d.PutImage(context.Background(), img)
	if err != nil {
		t.Fatalf("PutImage(%s): %v", img.ItemID, err)
	}
	if !created {
		t.Fatalf("PutImage(%s): created = false, want true", img.ItemID)
	}
}

func testMigrations(t *testing.T, d *db.DB) {
	ctx := context.Background()
	ms, err := db.Migrations(d.Dialect())
	if err != nil || len(ms) == 0 {
		t.Fatalf("Migrations: %d, %v", len(ms), err)
	}
	for i := 0; i < 2; i++ {
		if err := d.Migrate(ctx); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- d.Migrate(ctx) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	var n, max int
	if err := d.SQL().QueryRowContext(ctx, "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != ms[len(ms)-1].Version {
		t.Errorf("schema_migrations: %d rows up to %d, want %d up to %d", n, max, len(ms), ms[len(ms)-1].Version)
	}
	// The schema works after all that.
	put(t, d, image("m1", "dev-1", t0))
}

func testPutGet(t *testing.T, d *db.DB) {
	ctx := context.Background()
	want := db.Image{
		ItemID: "01J0ABCDEF", Device: "pi-5.north_1", Seq: 42, CapturedAt: t0, ClockSynced: true,
		Lat: f64(46.5191), Lon: f64(-6.5668), Width: 4000, Height: 3000, ForestShare: 0.731,
		Segmenter: "onnx", Model: "treecover-seg", ModelSHA256: "ab12", ScanID: "scan-7", AddressID: "addr-9",
		TreeType: "oak", Source: "DJI_0042.JPG", Origin: db.OriginDevice,
		RawKey: "pi-5.north_1/2026/05/17/01J0ABCDEF/image.jpg", MaskKey: "pi-5.north_1/2026/05/17/01J0ABCDEF/mask.png",
		ContentSHA256: "cafe", ReceivedAt: t0.Add(time.Minute),
		Ground: db.Ground{GSD: 0.0171, GSDSource: "camera", HeightM: f64(40.1), GPSAltM: f64(198.6), YawDeg: f64(-130), GimbalPitchDeg: f64(-89.9),
			GeoRef: &db.GeoRef{CRS: "EPSG:32615", Transform: [6]float64{1, 0.1, 0, 2, 0, -0.1}}, GeoNote: "x"},
	}
	put(t, d, want)
	got, err := d.GetImage(ctx, want.ItemID)
	if err != nil {
		t.Fatalf("GetImage: %v", err)
	}
	want.State = db.StateStored
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetImage:\n got %+v\nwant %+v", got, want)
	}
	// Nanoseconds are cut to microseconds, the zone becomes UTC.
	img := image("ns", "dev-1", time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.FixedZone("X", 3600)))
	img.ReceivedAt = time.Time{}
	put(t, d, img)
	got, err = d.GetImage(ctx, "ns")
	if err != nil {
		t.Fatal(err)
	}
	if w := time.Date(2026, 1, 2, 2, 4, 5, 999999000, time.UTC); !got.CapturedAt.Equal(w) || got.CapturedAt.Location() != time.UTC {
		t.Errorf("CapturedAt = %v, want %v", got.CapturedAt, w)
	}
	if got.ReceivedAt.IsZero() || time.Since(got.ReceivedAt) > time.Minute {
		t.Errorf("ReceivedAt = %v, want about now", got.ReceivedAt)
	}
	if got.Lat != nil || got.Count != nil {
		t.Errorf("Lat, Count = %v, %v; want nil", got.Lat, got.Count)
	}
	if _, err := d.GetImage(ctx, "nope"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("GetImage(absent) = %v, want ErrNotFound", err)
	}
}

func testPutIdempotent(t *testing.T, d *db.DB) {
	ctx := context.Background()
	img := image("dup", "dev-1", t0)
	img.ScanID = "s1"
	put(t, d, img)
	before, _ := d.GetImage(ctx, "dup")
	again := img
	again.Width, again.RawKey, again.ScanID, again.Device = 1, "other", "s2", "dev-2"
	created, err := d.PutImage(ctx, again)
	if err != nil || created {
		t.Fatalf("PutImage(duplicate) = %v, %v; want false, nil", created, err)
	}
	after, _ := d.GetImage(ctx, "dup")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("duplicate changed the row:\n got %+v\nwant %+v", after, before)
	}
	if _, err := d.GetScan(ctx, "s2"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("duplicate made scan s2: %v", err)
	}
	devs, _ := d.ListDevices(ctx)
	if len(devs) != 1 {
		t.Errorf("devices = %+v, want dev-1 only", devs)
	}
	st, err := d.JobStats(ctx)
	if err != nil || st[db.JobQueued] != 1 {
		t.Errorf("jobs = %v, %v; want 1 queued", st, err)
	}
}

func testPutConcurrent(t *testing.T, d *db.DB) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The same item, and distinct items of the same device and scan.
			same := image("same", "dev-1", t0)
			same.ScanID = "s"
			c, err := d.PutImage(ctx, same)
			if err != nil {
				t.Errorf("PutImage(same): %v", err)
			}
			other := image(fmt.Sprintf("other-%02d", i), "dev-1", t0)
			other.ScanID = "s"
			if c2, err := d.PutImage(ctx, other); err != nil || !c2 {
				t.Errorf("PutImage(%s) = %v, %v", other.ItemID, c2, err)
			}
			if c {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d goroutines put one item: created %d times, want 1", n, created)
	}
	st, _ := d.JobStats(ctx)
	if st[db.JobQueued] != n+1 {
		t.Errorf("queued jobs = %d, want %d", st[db.JobQueued], n+1)
	}
}

func testPutInvalid(t *testing.T, d *db.DB) {
	ctx := context.Background()
	ok := image("x", "dev-1", t0)
	cases := []struct {
		name string
		edit func(*db.Image)
	}{
		{"empty item id", func(i *db.Image) { i.ItemID = "" }},
		{"control in item id", func(i *db.Image) { i.ItemID = "a\x00b" }},
		{"empty device", func(i *db.Image) { i.Device = "" }},
		{"bad device", func(i *db.Image) { i.Device = "dev/1" }},
		{"long device", func(i *db.Image) { i.Device = string(make([]byte, 65)) }},
		{"unknown origin", func(i *db.Image) { i.Origin = "mars" }},
		{"no capture time", func(i *db.Image) { i.CapturedAt = time.Time{} }},
		{"no raw key", func(i *db.Image) { i.RawKey = "" }},
		{"lat without lon", func(i *db.Image) { i.Lat = f64(1) }},
		{"lat out of range", func(i *db.Image) { i.Lat, i.Lon = f64(91), f64(0) }},
		{"forest share", func(i *db.Image) { i.ForestShare = 1.5 }},
		{"gsd", func(i *db.Image) { i.GSD = -1 }},
		{"yaw", func(i *db.Image) { i.YawDeg = f64(720) }},
		{"georef", func(i *db.Image) { i.GeoRef = &db.GeoRef{Transform: [6]float64{math.Inf(1)}} }},
	}
	for _, tc := range cases {
		img := ok
		tc.edit(&img)
		if _, err := d.PutImage(ctx, img); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("%s: PutImage = %v, want ErrInvalid", tc.name, err)
		}
	}
	// An upload needs no device.
	up := ok
	up.Device, up.Origin = "", db.OriginUpload
	put(t, d, up)
	if devs, _ := d.ListDevices(ctx); len(devs) != 0 {
		t.Errorf("an upload without device made devices %+v", devs)
	}
}

func testListPages(t *testing.T, d *db.DB) {
	ctx := context.Background()
	var want []string
	// 23 images over 8 capture times: ties are ordered by item id.
	for i := 0; i < 23; i++ {
		at := t0.Add(time.Duration(i%8) * time.Second)
		id := fmt.Sprintf("img-%02d", (i*7)%23)
		put(t, d, image(id, "dev-1", at))
	}
	all, next, err := d.ListImages(ctx, db.ImageQuery{Limit: 500})
	if err != nil || next != "" || len(all) != 23 {
		t.Fatalf("ListImages(all) = %d images, next %q, %v", len(all), next, err)
	}
	sorted := sort.SliceIsSorted(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if !a.CapturedAt.Equal(b.CapturedAt) {
			return a.CapturedAt.After(b.CapturedAt)
		}
		return a.ItemID > b.ItemID
	})
	if !sorted {
		t.Errorf("ListImages not newest first: %v", ids(all))
	}
	want = ids(all)
	for _, limit := range []int{1, 5, 23} {
		var got []string
		cur := ""
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatalf("limit %d: too many pages", limit)
			}
			page, next, err := d.ListImages(ctx, db.ImageQuery{Limit: limit, Cursor: cur})
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			if len(page) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page))
			}
			got = append(got, ids(page)...)
			if next == "" {
				break
			}
			cur = next
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: pages give\n %v\nwant\n %v", limit, got, want)
		}
	}
	page, _, err := d.ListImages(ctx, db.ImageQuery{})
	if err != nil || len(page) != 23 {
		t.Errorf("default limit: %d, %v", len(page), err)
	}
	for _, bad := range []string{"!!", "e30", "bm90IGpzb24"} {
		if _, _, err := d.ListImages(ctx, db.ImageQuery{Cursor: bad}); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("cursor %q: %v, want ErrInvalid", bad, err)
		}
	}
}

func testListFilters(t *testing.T, d *db.DB) {
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		img := image(fmt.Sprintf("f%d", i), fmt.Sprintf("dev-%d", i%2), t0.Add(time.Duration(i)*time.Hour))
		if i < 3 {
			img.ScanID = "scan-a"
		}
		put(t, d, img)
	}
	cases := []struct {
		q    db.ImageQuery
		want []string
	}{
		{db.ImageQuery{Device: "dev-0"}, []string{"f4", "f2", "f0"}},
		{db.ImageQuery{ScanID: "scan-a"}, []string{"f2", "f1", "f0"}},
		{db.ImageQuery{Since: t0.Add(3 * time.Hour)}, []string{"f5", "f4", "f3"}},
		{db.ImageQuery{Device: "dev-1", ScanID: "scan-a"}, []string{"f1"}},
		{db.ImageQuery{Device: "dev-1", Since: t0.Add(2 * time.Hour)}, []string{"f5", "f3"}},
		{db.ImageQuery{Device: "dev-9"}, []string{}},
		{db.ImageQuery{Device: "dev-0", Limit: 2}, []string{"f4", "f2"}},
	}
	for _, tc := range cases {
		got, _, err := d.ListImages(ctx, tc.q)
		if err != nil {
			t.Errorf("%+v: %v", tc.q, err)
			continue
		}
		if !reflect.DeepEqual(ids(got), tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.q, ids(got), tc.want)
		}
	}
	// The cursor of a filtered page continues the filter.
	p1, next, _ := d.ListImages(ctx, db.ImageQuery{Device: "dev-0", Limit: 2})
	p2, next2, err := d.ListImages(ctx, db.ImageQuery{Device: "dev-0", Limit: 2, Cursor: next})
	if err != nil || len(p1) != 2 || !reflect.DeepEqual(ids(p2), []string{"f0"}) || next2 != "" {
		t.Errorf("second page = %v, next %q, %v; want [f0]", ids(p2), next2, err)
	}
}

func ids(imgs []db.Image) []string {
	s := []string{}
	for _, i := range imgs {
		s = append(s, i.ItemID)
	}
	return s
}

func testScan(t *testing.T, d *db.DB) {
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		img := image(fmt.Sprintf("s%d", i), "dev-1", t0.Add(time.Duration(i)*time.Minute))
		img.ScanID, img.AddressID, img.TreeType = "scan-1", "addr-1", "pine"
		if i == 2 {
			img.AddressID, img.TreeType = "other", "other" // the first one given stays
		}
		put(t, d, img)
	}
	put(t, d, image("lone", "dev-1", t0))
	s, err := d.GetScan(ctx, "scan-1")
	if err != nil {
		t.Fatalf("GetScan: %v", err)
	}
	if s.AddressID != "addr-1" || s.TreeType != "pine" || s.ImageCount != 3 || s.Counted != 0 || s.TotalTrees != 0 || len(s.Images) != 3 {
		t.Errorf("GetScan before counting = %+v", s)
	}
	// Count two of the three.
	for i := 0; i < 2; i++ {
		j, err := d.ClaimJob(ctx, "w", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.CompleteJob(ctx, j.ID, db.CountRecord{Count: 10 + i, Method: "classical"}); err != nil {
			t.Fatal(err)
		}
	}
	s, err = d.GetScan(ctx, "scan-1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Counted != 2 || s.TotalTrees != 21 {
		t.Errorf("GetScan: counted %d, total %d; want 2, 21", s.Counted, s.TotalTrees)
	}
	if !reflect.DeepEqual(ids(s.Images), []string{"s2", "s1", "s0"}) || s.Images[2].Count == nil {
		t.Errorf("scan images = %v (first counted: %v)", ids(s.Images), s.Images[2].Count)
	}
	if _, err := d.GetScan(ctx, "nope"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("GetScan(absent) = %v, want ErrNotFound", err)
	}
}

func testDevices(t *testing.T, d *db.DB) {
	ctx := context.Background()
	if devs, err := d.ListDevices(ctx); err != nil || len(devs) != 0 {
		t.Fatalf("ListDevices(empty) = %v, %v", devs, err)
	}
	img := image("d1", "dev-b", t0)
	img.ReceivedAt = t0
	put(t, d, img)
	img2 := image("d2", "dev-b", t0)
	img2.ReceivedAt = t0.Add(-time.Hour) // older: last seen stays
	put(t, d, img2)
	if err := d.UpdateDevice(ctx, db.DeviceStatus{Device: "dev-a", Online: true, OutboxDepth: 7, Version: "1.2.3", Seen: t0}); err != nil {
		t.Fatal(err)
	}
	if err := d.UpdateDevice(ctx, db.DeviceStatus{Device: "dev-b", Online: false, OutboxDepth: 3, Evictions: 4, Refused: 2, DeadLetters: 1, Seen: t0.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	devs, err := d.ListDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []db.Device{
		{ID: "dev-a", FirstSeen: t0, LastSeen: t0, Online: true, OutboxDepth: 7, Version: "1.2.3"},
		{ID: "dev-b", FirstSeen: t0, LastSeen: t0, Online: false, OutboxDepth: 3, Evictions: 4, Refused: 2, DeadLetters: 1, Images: 2},
	}
	if !reflect.DeepEqual(devs, want) {
		t.Errorf("ListDevices:\n got %+v\nwant %+v", devs, want)
	}
	if err := d.UpdateDevice(ctx, db.DeviceStatus{Device: "dev-a", Online: false, Seen: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	devs, _ = d.ListDevices(ctx)
	if a := devs[0]; a.Online || a.OutboxDepth != 0 || a.Version != "1.2.3" || !a.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Errorf("after offline: %+v", a)
	}
	for _, bad := range []string{"", "a b", "x/y", string(make([]byte, 65))} {
		if err := d.UpdateDevice(ctx, db.DeviceStatus{Device: bad}); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("UpdateDevice(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	// Several in one statement; an invalid one is reported, the rest written.
	err = d.UpdateDevices(ctx, []db.DeviceStatus{
		{Device: "dev-a", Online: true, OutboxDepth: 1, Seen: t0.Add(2 * time.Hour)},
		{Device: "bad/id"},
		{Device: "dev-c", Online: true, OutboxDepth: 9, Version: "2.0", Seen: t0},
	})
	if !errors.Is(err, db.ErrInvalid) {
		t.Errorf("UpdateDevices with a bad id = %v, want ErrInvalid", err)
	}
	devs, _ = d.ListDevices(ctx)
	if len(devs) != 3 || !devs[0].Online || devs[0].OutboxDepth != 1 || devs[2].ID != "dev-c" || devs[2].OutboxDepth != 9 || devs[2].Version != "2.0" {
		t.Errorf("after UpdateDevices: %+v", devs)
	}
}

func testHasRawKey(t *testing.T, d *db.DB) {
	ctx := context.Background()
	img := image("k1", "dev-1", t0)
	img.MaskKey = "dev-1/k1/mask.png"
	put(t, d, img)
	for key, want := range map[string]bool{img.RawKey: true, img.MaskKey: true, "dev-1/k2/image.jpg": false, "": false} {
		got, err := d.HasRawKey(ctx, key)
		if err != nil || got != want {
			t.Errorf("HasRawKey(%q) = %v, %v; want %v", key, got, err, want)
		}
	}
}

func testJobComplete(t *testing.T, d *db.DB) {
	ctx := context.Background()
	if _, err := d.ClaimJob(ctx, "w1", time.Minute); !errors.Is(err, db.ErrNoJob) {
		t.Fatalf("ClaimJob(empty) = %v, want ErrNoJob", err)
	}
	put(t, d, image("j1", "dev-1", t0))
	j, err := d.ClaimJob(ctx, "w1", time.Minute)
	if err != nil {
		t.Fatalf("ClaimJob: %v", err)
	}
	if j.ItemID != "j1" || j.State != db.JobRunning || j.Attempts != 1 || j.Worker != "w1" || time.Until(j.LeaseUntil) < 50*time.Second {
		t.Errorf("claimed %+v", j)
	}
	if img, _ := d.GetImage(ctx, "j1"); img.State != db.StateCounting {
		t.Errorf("image state = %q, want counting", img.State)
	}
	if _, err := d.ClaimJob(ctx, "w2", time.Minute); !errors.Is(err, db.ErrNoJob) {
		t.Errorf("second claim while leased = %v, want ErrNoJob", err)
	}
	c := db.CountRecord{
		ItemID: "j1", Count: 2, Method: "classical", Model: "m", ModelSHA256: "ff",
		Boxes:        []db.Box{{XMin: 1, YMin: 2, XMax: 3, YMax: 4, Score: 0.5, Lon: f64(-91.99), Lat: f64(46.84)}, {XMin: 5, YMin: 6, XMax: 7, YMax: 8, Score: 1}},
		AnnotatedKey: "dev-1/j1/annotated.jpg", MaskKey: "dev-1/j1/mask.png", CountedAt: t0,
		Placement: db.Placement{GSD: 0.1, GSDSource: db.GSDDefault, Positions: db.PlacedNadir, PositionNote: "flat ground",
			Footprint: [][2]float64{{-91.99, 46.84}, {-91.98, 46.84}, {-91.98, 46.85}}},
	}
	for i := 0; i < 2; i++ { // the second time changes nothing
		if err := d.CompleteJob(ctx, j.ID, c); err != nil {
			t.Fatalf("CompleteJob #%d: %v", i+1, err)
		}
	}
	img, err := d.GetImage(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if img.State != db.StateCounted || img.Count == nil || !reflect.DeepEqual(*img.Count, c) {
		t.Errorf("counted image: state %q, count %+v; want %+v", img.State, img.Count, c)
	}
	if jj, _ := d.GetJob(ctx, j.ID); jj.State != db.JobDone {
		t.Errorf("job state = %q, want done", jj.State)
	}
	if _, err := d.ClaimJob(ctx, "w1", time.Minute); !errors.Is(err, db.ErrNoJob) {
		t.Errorf("claim after done = %v, want ErrNoJob", err)
	}
	// A late failure does not undo the count.
	if err := d.FailJob(ctx, j.ID, "late"); err != nil {
		t.Fatal(err)
	}
	if jj, _ := d.GetJob(ctx, j.ID); jj.State != db.JobDone {
		t.Errorf("job state after late failure = %q, want done", jj.State)
	}
	if err := d.CompleteJob(ctx, 9999, c); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("CompleteJob(unknown) = %v, want ErrNotFound", err)
	}
	if err := d.FailJob(ctx, 9999, "x"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("FailJob(unknown) = %v, want ErrNotFound", err)
	}
	wrong := c
	wrong.ItemID = "other"
	if err := d.CompleteJob(ctx, j.ID, wrong); !errors.Is(err, db.ErrInvalid) {
		t.Errorf("CompleteJob(wrong item) = %v, want ErrInvalid", err)
	}
	// Zero boxes come back as an empty list.
	put(t, d, image("j2", "dev-1", t0))
	j2, _ := d.ClaimJob(ctx, "w1", time.Minute)
	if err := d.CompleteJob(ctx, j2.ID, db.CountRecord{Method: "classical"}); err != nil {
		t.Fatal(err)
	}
	if img, _ := d.GetImage(ctx, "j2"); img.Count == nil || img.Count.Boxes == nil || img.Count.Count != 0 || img.Count.CountedAt.IsZero() {
		t.Errorf("empty count = %+v", img.Count)
	}
}

func testJobLease(t *testing.T, d *db.DB) {
	ctx := context.Background()
	put(t, d, image("l1", "dev-1", t0))
	j, err := d.ClaimJob(ctx, "dead", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the lease runs out; the worker never reports
	j2, err := d.ClaimJob(ctx, "alive", time.Minute)
	if err != nil {
		t.Fatalf("claim after the lease ran out: %v", err)
	}
	if j2.ID != j.ID || j2.Attempts != 2 || j2.Worker != "alive" {
		t.Errorf("reclaimed %+v, want job %d, attempt 2, worker alive", j2, j.ID)
	}
	// After the last allowed attempt an expired job fails instead.
	d.SetJobPolicy(db.JobPolicy{MaxAttempts: 2})
	time.Sleep(time.Millisecond)
	put(t, d, image("l2", "dev-1", t0))
	for i := 0; i < 2; i++ {
		if _, err := d.ClaimJob(ctx, "dead", time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := d.ClaimJob(ctx, "w", time.Minute); !errors.Is(err, db.ErrNoJob) {
		t.Errorf("claim of a job past its attempts = %v, want ErrNoJob", err)
	}
	if img, _ := d.GetImage(ctx, "l2"); img.State != db.StateFailed {
		t.Errorf("image state = %q, want failed", img.State)
	}
}

func testJobFail(t *testing.T, d *db.DB) {
	ctx := context.Background()
	d.SetJobPolicy(db.JobPolicy{MaxAttempts: 2})
	put(t, d, image("x1", "dev-1", t0))
	j, _ := d.ClaimJob(ctx, "w", time.Minute)
	if err := d.FailJob(ctx, j.ID, "decode: bad jpeg"); err != nil {
		t.Fatal(err)
	}
	jj, _ := d.GetJob(ctx, j.ID)
	if jj.State != db.JobQueued || jj.LastError != "decode: bad jpeg" || jj.Attempts != 1 {
		t.Errorf("after one failure: %+v", jj)
	}
	if img, _ := d.GetImage(ctx, "x1"); img.State != db.StateStored {
		t.Errorf("image state = %q, want stored", img.State)
	}
	j, err := d.ClaimJob(ctx, "w", time.Minute)
	if err != nil || j.Attempts != 2 {
		t.Fatalf("retry claim = %+v, %v", j, err)
	}
	if err := d.FailJob(ctx, j.ID, "again"); err != nil {
		t.Fatal(err)
	}
	if jj, _ := d.GetJob(ctx, j.ID); jj.State != db.JobFailed {
		t.Errorf("after last attempt: %+v, want failed", jj)
	}
	if img, _ := d.GetImage(ctx, "x1"); img.State != db.StateFailed {
		t.Errorf("image state = %q, want failed", img.State)
	}
	if _, err := d.ClaimJob(ctx, "w", time.Minute); !errors.Is(err, db.ErrNoJob) {
		t.Errorf("claim after failure = %v, want ErrNoJob", err)
	}
	// With a back-off the job waits.
	d.SetJobPolicy(db.JobPolicy{MaxAttempts: 5, Backoff: time.Hour, MaxBackoff: 2 * time.Hour})
	put(t, d, image("x2", "dev-1", t0))
	j, _ = d.ClaimJob(ctx, "w", time.Minute)
	if err := d.FailJob(ctx, j.ID, "transient"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ClaimJob(ctx, "w", time.Minute); !errors.Is(err, db.ErrNoJob) {
		t.Errorf("claim during back-off = %v, want ErrNoJob", err)
	}
	if jj, _ := d.GetJob(ctx, j.ID); time.Until(jj.LeaseUntil) < 59*time.Minute {
		t.Errorf("ready at %v, want in an hour", jj.LeaseUntil)
	}
	if st, _ := d.JobStats(ctx); st[db.JobQueued] != 1 || st[db.JobFailed] != 1 {
		t.Errorf("JobStats = %v", st)
	}
}

func testJobConcurrent(t *testing.T, d *db.DB) {
	ctx := context.Background()
	const jobs, workers = 60, 8
	for i := 0; i < jobs; i++ {
		put(t, d, image(fmt.Sprintf("c%03d", i), "dev-1", t0))
	}
	var claims Claims
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claims.Work(ctx, t, d, fmt.Sprintf("w%d", w), 1)
		}()
	}
	wg.Wait()
	if n := claims.Len(); n != jobs {
		t.Errorf("%d jobs claimed, want %d", n, jobs)
	}
	if st, _ := d.JobStats(ctx); st[db.JobDone] != jobs {
		t.Errorf("JobStats = %v, want %d done", st, jobs)
	}
}

func testTokens(t *testing.T, d *db.DB) {
	ctx := context.Background()
	tok := db.Token{Hash: "h1", Scope: db.ScopeWrite, Name: "uploader", CreatedAt: t0}
	if err := d.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err := d.LookupToken(ctx, "h1")
	if err != nil || !reflect.DeepEqual(got, tok) {
		t.Errorf("LookupToken = %+v, %v; want %+v", got, err, tok)
	}
	if err := d.CreateToken(ctx, tok); err == nil {
		t.Error("CreateToken(same hash) succeeded, want an error")
	}
	if _, err := d.LookupToken(ctx, "h2"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("LookupToken(absent) = %v, want ErrNotFound", err)
	}
	for _, bad := range []db.Token{{Hash: "", Scope: "read"}, {Hash: "x", Scope: "root"}} {
		if err := d.CreateToken(ctx, bad); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("CreateToken(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	for _, scope := range []string{db.ScopeRead, db.ScopeMetrics, db.ScopeAdmin} {
		if err := d.CreateToken(ctx, db.Token{Hash: "h-" + scope, Scope: scope}); err != nil {
			t.Fatalf("CreateToken(scope %s): %v", scope, err)
		}
		if got, err := d.LookupToken(ctx, "h-"+scope); err != nil || got.Scope != scope {
			t.Errorf("LookupToken(scope %s) = %+v, %v", scope, got, err)
		}
	}
	if ts, err := d.ListTokens(ctx); err != nil || len(ts) != 4 {
		t.Errorf("ListTokens = %v, %v", ts, err)
	}
	if err := d.DeleteToken(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LookupToken(ctx, "h1"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("LookupToken(deleted) = %v, want ErrNotFound", err)
	}
	if err := d.DeleteToken(ctx, "h1"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("DeleteToken(deleted) = %v, want ErrNotFound", err)
	}
}

func testTokenExpiryAndDevice(t *testing.T, d *db.DB) {
	ctx := context.Background()
	bound := db.Token{Hash: "hb", Scope: db.ScopeWrite, Name: "pi-07 uploads", Device: "pi-07", CreatedAt: t0, ExpiresAt: t0.Add(90 * 24 * time.Hour)}
	plain := db.Token{Hash: "hp", Scope: db.ScopeRead, CreatedAt: t0.Add(time.Second)}
	for _, tok := range []db.Token{bound, plain} {
		if err := d.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%+v): %v", tok, err)
		}
		got, err := d.LookupToken(ctx, tok.Hash)
		if err != nil || !reflect.DeepEqual(got, tok) {
			t.Errorf("LookupToken(%s) = %+v, %v; want %+v", tok.Hash, got, err, tok)
		}
	}
	ts, err := d.ListTokens(ctx)
	if err != nil || !reflect.DeepEqual(ts, []db.Token{bound, plain}) {
		t.Errorf("ListTokens = %+v, %v; want %+v", ts, err, []db.Token{bound, plain})
	}
	cases := []struct {
		at   time.Time
		tok  db.Token
		want string
	}{
		{t0, bound, db.TokenActive},
		{bound.ExpiresAt.Add(-time.Microsecond), bound, db.TokenActive},
		{bound.ExpiresAt, bound, db.TokenExpired},
		{bound.ExpiresAt.Add(time.Hour), bound, db.TokenExpired},
		{t0.Add(100 * 365 * 24 * time.Hour), plain, db.TokenActive},
	}
	for _, c := range cases {
		if got := c.tok.State(c.at); got != c.want {
			t.Errorf("%s.State(%s) = %s, want %s", c.tok.Hash, c.at, got, c.want)
		}
	}
	for _, bad := range []db.Token{
		{Hash: "x1", Scope: db.ScopeWrite, Device: "../etc"},
		{Hash: "x2", Scope: db.ScopeWrite, Device: strings.Repeat("d", 65)},
		{Hash: "x3", Scope: db.ScopeWrite, CreatedAt: t0, ExpiresAt: t0},
		{Hash: "x4", Scope: db.ScopeWrite, CreatedAt: t0, ExpiresAt: t0.Add(-time.Hour)},
		{Hash: "x5", Scope: db.ScopeWrite, Name: strings.Repeat("n", 129)},
	} {
		if err := d.CreateToken(ctx, bad); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("CreateToken(%+v) = %v, want ErrInvalid", bad, err)
		}
		if _, err := d.LookupToken(ctx, bad.Hash); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("refused token %s was stored: %v", bad.Hash, err)
		}
	}
}

func testTokenRevoke(t *testing.T, d *db.DB) {
	ctx := context.Background()
	tok := db.Token{Hash: "hr", Scope: db.ScopeWrite, Device: "pi-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := d.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateToken(ctx, db.Token{Hash: "other", Scope: db.ScopeRead}); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	revoked, err := d.RevokeToken(ctx, "hr")
	if err != nil || !revoked {
		t.Fatalf("RevokeToken = %v, %v; want true, nil", revoked, err)
	}
	got, err := d.LookupToken(ctx, "hr")
	if err != nil {
		t.Fatalf("LookupToken(revoked) = %v: a revoked token stays, refused by its state", err)
	}
	if got.RevokedAt.Before(before) || got.RevokedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("RevokedAt = %v, want about now", got.RevokedAt)
	}
	if s := got.State(t0); s != db.TokenRevoked {
		t.Errorf("State of a revoked token = %s, want revoked", s)
	}
	if got.Device != tok.Device || !got.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Errorf("revoking changed the token: %+v", got)
	}
	again, err := d.RevokeToken(ctx, "hr")
	if err != nil || again {
		t.Errorf("RevokeToken again = %v, %v; want false, nil", again, err)
	}
	if g2, _ := d.LookupToken(ctx, "hr"); !g2.RevokedAt.Equal(got.RevokedAt) {
		t.Errorf("revoking again moved RevokedAt from %v to %v", got.RevokedAt, g2.RevokedAt)
	}
	if _, err := d.RevokeToken(ctx, "absent"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("RevokeToken(absent) = %v, want ErrNotFound", err)
	}
	if o, _ := d.LookupToken(ctx, "other"); o.State(time.Now()) != db.TokenActive {
		t.Errorf("the other token is %s, want active", o.State(time.Now()))
	}
	if ts, _ := d.ListTokens(ctx); len(ts) != 2 {
		t.Errorf("ListTokens after revoke: %d tokens, want 2 (revoked ones stay listed)", len(ts))
	}
}

func testTokenTouch(t *testing.T, d *db.DB) {
	ctx := context.Background()
	if err := d.CreateToken(ctx, db.Token{Hash: "ht", Scope: db.ScopeRead, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0.Add(time.Minute), t0.Add(3 * time.Minute), t0.Add(2 * time.Minute)} {
		if err := d.TouchToken(ctx, "ht", at); err != nil {
			t.Fatalf("TouchToken(%v): %v", at, err)
		}
	}
	if got, err := d.LookupToken(ctx, "ht"); err != nil || !got.LastUsedAt.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("LastUsedAt = %v, %v; want %v (it only moves forward)", got.LastUsedAt, err, t0.Add(3*time.Minute))
	}
	if err := d.TouchToken(ctx, "absent", t0); err != nil {
		t.Errorf("TouchToken(absent) = %v, want nil", err)
	}
}

// Claims records which worker claimed each job, so that workers claiming at
// once, on one handle or several, can show that no job is claimed twice.
type Claims struct {
	mu sync.Mutex
	by map[int64]string
}

// Len is the number of jobs claimed so far.
func (c *Claims) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.by)
}

// Work claims jobs on d as worker name, completing each with a count of
// trees, until none is left; a job claimed twice (by any worker sharing c)
// or a failed call is a test error.
func (c *Claims) Work(ctx context.Context, t testing.TB, d *db.DB, name string, trees int) {
	for {
		j, err := d.ClaimJob(ctx, name, time.Minute)
		if errors.Is(err, db.ErrNoJob) {
			return
		}
		if err != nil {
			t.Errorf("%s: ClaimJob: %v", name, err)
			return
		}
		c.mu.Lock()
		if prev, dup := c.by[j.ID]; dup {
			t.Errorf("job %d claimed by %s and %s", j.ID, prev, name)
		}
		if c.by == nil {
			c.by = map[int64]string{}
		}
		c.by[j.ID] = name
		c.mu.Unlock()
		if err := d.CompleteJob(ctx, j.ID, db.CountRecord{Count: trees, Method: "classical"}); err != nil {
			t.Errorf("%s: CompleteJob: %v", name, err)
			return
		}
	}
}

func testEachScanImage(t *testing.T, d *db.DB) {
	ctx := context.Background()
	for i, id := range []string{"e2", "e1", "e3"} {
		img := image(id, "dev-1", t0.Add(time.Duration(i)*time.Second))
		img.ScanID = "each"
		if id == "e3" {
			img.ScanID = "other"
		}
		put(t, d, img)
	}
	j, _ := d.ClaimJob(ctx, "w", time.Minute)
	if err := d.CompleteJob(ctx, j.ID, db.CountRecord{Count: 1, Method: "m", Boxes: []db.Box{{XMax: 1, YMax: 1, Lon: f64(1), Lat: f64(2)}}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := d.EachScanImage(ctx, "each", func(img db.Image) error {
		got = append(got, img.ItemID)
		if img.ItemID == "e2" && (img.Count == nil || len(img.Count.Boxes) != 1 || *img.Count.Boxes[0].Lat != 2) {
			t.Errorf("e2: count %+v, want its box with a position", img.Count)
		}
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, []string{"e2", "e1"}) {
		t.Errorf("EachScanImage: got %v, %v; want [e2 e1] (oldest first)", got, err)
	}
	stop := errors.New("stop")
	if err := d.EachScanImage(ctx, "each", func(db.Image) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("EachScanImage: got %v, want fn's error", err)
	}
}
