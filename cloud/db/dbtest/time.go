package dbtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// RunTime runs the conformance suite of what issue 28 added (scans by
// place, count history, recounts, retention and purge) against a database
// that open returns, new for each subtest.
func RunTime(t *testing.T, open func(t *testing.T) *db.DB) {
	tests := []struct {
		name string
		f    func(t *testing.T, d *db.DB)
	}{
		{"ListScans", testListScans},
		{"Places", testPlaces},
		{"CountHistory", testCountHistory},
		{"Recount", testRecount},
		{"RawRetention", testRawRetention},
		{"ObjectRefs", testObjectRefs},
		{"PurgeDevice", testPurgeDevice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, open(t)) })
	}
}

// putScan stores an image of scan at capture time at, with a GPS position.
func putScan(t *testing.T, d *db.DB, id, scan, address string, at time.Time, lon, lat float64) {
	t.Helper()
	img := image(id, "dev-1", at)
	img.ScanID, img.AddressID, img.Lon, img.Lat = scan, address, f64(lon), f64(lat)
	put(t, d, img)
}

// countNext claims the next job and completes it with c.
func countNext(t *testing.T, d *db.DB, c db.CountRecord) db.Job {
	t.Helper()
	j, err := d.ClaimJob(context.Background(), "w", time.Minute)
	if err != nil {
		t.Fatalf("ClaimJob: %v", err)
	}
	if err := d.CompleteJob(context.Background(), j.ID, c); err != nil {
		t.Fatalf("CompleteJob: %v", err)
	}
	return j
}

func scanIDs(ss []db.ScanSummary) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ScanID)
	}
	return out
}

func testListScans(t *testing.T, d *db.DB) {
	ctx := context.Background()
	// Three scans of "farm" a month apart, one of "park"; scan b has two
	// images and a counted footprint that widens its box.
	putScan(t, d, "a1", "a", "farm", t0, 5.0, 52.0)
	putScan(t, d, "b1", "b", "farm", t0.AddDate(0, 1, 0), 5.0, 52.0)
	putScan(t, d, "b2", "b", "farm", t0.AddDate(0, 1, 0).Add(time.Hour), 5.001, 52.001)
	putScan(t, d, "c1", "c", "farm", t0.AddDate(0, 2, 0), 5.0, 52.0)
	putScan(t, d, "p1", "p", "park", t0.AddDate(0, 1, 15), 9.0, 48.0)
	countNext(t, d, db.CountRecord{Count: 4, Placement: db.Placement{Footprint: [][2]float64{{4.999, 51.999}, {5.002, 51.999}, {5.002, 52.002}}}})
	countNext(t, d, db.CountRecord{Count: 6}) // b1
	countNext(t, d, db.CountRecord{Count: 7}) // b2

	all, next, err := d.ListScans(ctx, db.ScanQuery{})
	if err != nil || next != "" {
		t.Fatalf("ListScans: %v (next %q)", err, next)
	}
	if got, want := scanIDs(all), []string{"c", "p", "b", "a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("scans %v, want newest first %v", got, want)
	}
	b := all[2]
	if b.ImageCount != 2 || b.Counted != 2 || b.SumOfCounts != 13 || !b.StartedAt.Equal(t0.AddDate(0, 1, 0)) ||
		!b.EndedAt.Equal(t0.AddDate(0, 1, 0).Add(time.Hour)) || b.BBox == nil || *b.BBox != (db.BBox{5.0, 52.0, 5.001, 52.001}) {
		t.Errorf("scan b: %+v (box %v)", b, b.BBox)
	}
	if a := all[3]; a.BBox == nil || *a.BBox != (db.BBox{4.999, 51.999, 5.002, 52.002}) || a.SumOfCounts != 4 {
		t.Errorf("scan a: box %v (want the footprint's), sum %d", a.BBox, a.SumOfCounts)
	}
	// Pages of one, both ways.
	for _, oldest := range []bool{false, true} {
		var got []string
		cur := ""
		for i := 0; i < 10; i++ {
			page, n, err := d.ListScans(ctx, db.ScanQuery{Limit: 1, Cursor: cur, Oldest: oldest})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, scanIDs(page)...)
			if cur = n; cur == "" {
				break
			}
		}
		want := []string{"c", "p", "b", "a"}
		if oldest {
			want = []string{"a", "b", "p", "c"}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("pages (oldest %v): %v, want %v", oldest, got, want)
		}
	}
	for _, tc := range []struct {
		name string
		q    db.ScanQuery
		want []string
	}{
		{"address", db.ScanQuery{AddressID: "farm", Oldest: true}, []string{"a", "b", "c"}},
		{"since", db.ScanQuery{Since: t0.AddDate(0, 1, 0)}, []string{"c", "p", "b"}},
		{"until", db.ScanQuery{Until: t0.AddDate(0, 1, 0)}, []string{"a"}},
		{"since and until", db.ScanQuery{Since: t0.AddDate(0, 0, 1), Until: t0.AddDate(0, 2, 0)}, []string{"p", "b"}},
		{"bbox around the park", db.ScanQuery{BBox: &db.BBox{8, 47, 10, 49}}, []string{"p"}},
		{"bbox touching a's footprint only", db.ScanQuery{BBox: &db.BBox{5.0015, 52.0015, 5.01, 52.01}}, []string{"a"}},
		{"bbox elsewhere", db.ScanQuery{BBox: &db.BBox{-10, -10, -9, -9}}, nil},
	} {
		got, _, err := d.ListScans(ctx, tc.q)
		if err != nil || !reflect.DeepEqual(scanIDs(got), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, scanIDs(got), err, tc.want)
		}
	}
	for _, q := range []db.ScanQuery{{Cursor: "nope"}, {BBox: &db.BBox{10, 0, 5, 1}}, {BBox: &db.BBox{0, -91, 1, 1}}} {
		if _, _, err := d.ListScans(ctx, q); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("ListScans(%+v) = %v, want ErrInvalid", q, err)
		}
	}
	s, err := d.GetScan(ctx, "b")
	if err != nil || !s.StartedAt.Equal(b.StartedAt) || !s.EndedAt.Equal(b.EndedAt) {
		t.Errorf("GetScan(b): %v..%v, %v", s.StartedAt, s.EndedAt, err)
	}
}

func testPlaces(t *testing.T, d *db.DB) {
	putScan(t, d, "a1", "a", "farm", t0, 5, 52)
	putScan(t, d, "c1", "c", "farm", t0.AddDate(0, 2, 0), 5.01, 52.01)
	putScan(t, d, "p1", "p", "park", t0.AddDate(0, 1, 0), 9, 48)
	putScan(t, d, "n1", "n", "", t0.AddDate(0, 3, 0), 9, 48) // no place
	ps, err := d.ListPlaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []db.Place{
		{AddressID: "farm", Scans: 2, First: t0, Last: t0.AddDate(0, 2, 0), BBox: &db.BBox{5, 52, 5.01, 52.01}},
		{AddressID: "park", Scans: 1, First: t0.AddDate(0, 1, 0), Last: t0.AddDate(0, 1, 0), BBox: &db.BBox{9, 48, 9, 48}},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("places:\n got %+v\nwant %+v", ps, want)
	}
}

func testCountHistory(t *testing.T, d *db.DB) {
	ctx := context.Background()
	put(t, d, image("h1", "dev-1", t0))
	first := countNext(t, d, db.CountRecord{Count: 5, Method: "learned", Model: "crown-detector", ModelSHA256: "aaaaaa11", AnnotatedKey: "k/annotated.jpg"})
	// Completing the same job again replaces the count and keeps no copy.
	if err := d.CompleteJob(ctx, first.ID, db.CountRecord{Count: 5, Method: "learned", Model: "crown-detector", ModelSHA256: "aaaaaa11", AnnotatedKey: "k/annotated.jpg"}); err != nil {
		t.Fatal(err)
	}
	if cs, err := d.ImageCounts(ctx, "h1"); err != nil || len(cs) != 1 {
		t.Fatalf("counts after a repeated completion: %d, %v; want 1", len(cs), err)
	}
	if r, err := d.QueueRecount(ctx, db.RecountQuery{Since: t0, Method: "classical"}); err != nil || r.Queued != 1 {
		t.Fatalf("QueueRecount: %+v, %v", r, err)
	}
	j := countNext(t, d, db.CountRecord{Count: 9, Method: "classical", AnnotatedKey: "k/annotated-classical.jpg"})
	if j.Method != "classical" || j.ModelSHA256 != "" {
		t.Errorf("recount job asks for %q %q, want classical", j.Method, j.ModelSHA256)
	}
	img, _ := d.GetImage(ctx, "h1")
	if img.Count == nil || img.Count.Count != 9 || img.State != db.StateCounted {
		t.Fatalf("newest count %+v (state %s), want the recount's 9", img.Count, img.State)
	}
	cs, err := d.ImageCounts(ctx, "h1")
	if err != nil || len(cs) != 2 || cs[0].Count != 9 || cs[1].Count != 5 || cs[1].ModelSHA256 != "aaaaaa11" || cs[1].AnnotatedKey != "k/annotated.jpg" {
		t.Fatalf("ImageCounts: %+v, %v; want 9 then the kept 5", cs, err)
	}
	for _, tc := range []struct {
		model string
		want  int // -1: no count by it
	}{
		{"aaaaaa", 5}, {"AAAAAA11", 5}, {"crown-detector", 5}, {"learned", 5}, {"classical", 9}, {"bbbbbb", -1}, {"aaaa", -1},
	} {
		img, err := d.GetImageByModel(ctx, "h1", tc.model)
		got := -1
		if img.Count != nil {
			got = img.Count.Count
		}
		if err != nil || got != tc.want {
			t.Errorf("GetImageByModel(%q): %d, %v; want %d", tc.model, got, err, tc.want)
		}
	}
	if _, err := d.GetImageByModel(ctx, "nope", "classical"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("GetImageByModel(absent) = %v", err)
	}
	if _, err := d.ImageCounts(ctx, "nope"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("ImageCounts(absent) = %v", err)
	}
}

func testRecount(t *testing.T, d *db.DB) {
	ctx := context.Background()
	for i, id := range []string{"r0", "r1", "r2", "r3", "r4"} {
		img := image(id, "dev-1", t0.Add(time.Duration(i)*time.Minute))
		img.ScanID = "s"
		put(t, d, img)
	}
	ev := image("r-ev", "dev-1", t0)
	ev.ScanID, ev.State, ev.RawKey = "s", db.StateImageEvicted, ""
	put(t, d, ev)
	d.SetJobPolicy(db.JobPolicy{MaxAttempts: 1})
	for range 3 { // r0, r1, r2 counted
		countNext(t, d, db.CountRecord{Count: 3, Method: "learned", ModelSHA256: "aaaaaa"})
	}
	j, _ := d.ClaimJob(ctx, "w", time.Minute) // r3 fails for good
	if err := d.FailJob(ctx, j.ID, "broken"); err != nil {
		t.Fatal(err)
	}
	if err := d.MarkRawDeleted(ctx, "r0", t0); err != nil { // r0: raw gone
		t.Fatal(err)
	}
	// r4 is still queued.
	sha := "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	r, err := d.QueueRecount(ctx, db.RecountQuery{ScanID: "s", Method: "learned", ModelSHA256: sha})
	if want := (db.Recounted{Queued: 3, Busy: 1, RawDeleted: 1, Evicted: 1}); err != nil || r != want {
		t.Fatalf("QueueRecount = %+v, %v; want %+v", r, err, want)
	}
	if img, _ := d.GetImage(ctx, "r3"); img.State != db.StateStored {
		t.Errorf("failed image queued again is %q, want stored", img.State)
	}
	d.SetJobPolicy(db.JobPolicy{MaxAttempts: 1})
	got := map[string]db.Job{}
	for {
		j, err := d.ClaimJob(ctx, "w", time.Minute)
		if errors.Is(err, db.ErrNoJob) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[j.ItemID] = j
		if j.ItemID == "r1" { // a recount that fails keeps the count it had
			if err := d.FailJob(ctx, j.ID, "model broken"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := d.CompleteJob(ctx, j.ID, db.CountRecord{Count: 4, Method: j.Method, ModelSHA256: j.ModelSHA256}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"r1", "r2", "r3"} {
		if j := got[id]; j.Method != "learned" || j.ModelSHA256 != sha || j.Attempts != 1 {
			t.Errorf("job of %s: %+v, want the recount's counter, attempt 1", id, j)
		}
	}
	if j := got["r4"]; j.ModelSHA256 != "" {
		t.Errorf("the busy image's job asks for %q, want its own counter", j.ModelSHA256)
	}
	if img, _ := d.GetImage(ctx, "r1"); img.State != db.StateCounted || img.Count == nil || img.Count.Count != 3 {
		t.Errorf("failed recount: state %s, count %+v; want counted, 3", img.State, img.Count)
	}
	if img, _ := d.GetImage(ctx, "r2"); img.Count == nil || img.Count.ModelSHA256 != sha {
		t.Errorf("recounted image: %+v", img.Count)
	}
	if _, err := d.QueueRecount(ctx, db.RecountQuery{}); !errors.Is(err, db.ErrInvalid) {
		t.Errorf("QueueRecount() = %v, want ErrInvalid", err)
	}
}

func testRawRetention(t *testing.T, d *db.DB) {
	ctx := context.Background()
	for i, id := range []string{"old-counted", "old-queued", "new-counted"} {
		img := image(id, "dev-1", t0)
		img.ReceivedAt = t0.Add(time.Duration(i) * time.Hour)
		put(t, d, img)
	}
	countNext(t, d, db.CountRecord{Count: 1}) // old-counted
	j, _ := d.ClaimJob(ctx, "w", time.Minute) // old-queued: claimed, not done
	_ = d.FailJob(ctx, j.ID, "transient")
	j, _ = d.ClaimJob(ctx, "w", time.Minute) // new-counted
	if j.ItemID != "new-counted" {
		t.Fatalf("claimed %s", j.ItemID)
	}
	_ = d.CompleteJob(ctx, j.ID, db.CountRecord{Count: 2})
	imgs, err := d.RawExpired(ctx, t0.Add(90*time.Minute), 10)
	if err != nil || len(imgs) != 1 || imgs[0].ItemID != "old-counted" {
		t.Fatalf("RawExpired: %v, %v; want old-counted only", ids(imgs), err)
	}
	at := t0.Add(100 * time.Hour)
	for range 2 {
		if err := d.MarkRawDeleted(ctx, "old-counted", at); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Hour) // marking again keeps the first time
	}
	img, _ := d.GetImage(ctx, "old-counted")
	if !img.RawDeletedAt.Equal(t0.Add(100*time.Hour)) || img.Count == nil || img.RawKey == "" {
		t.Errorf("after retention: raw deleted at %v, count %+v, raw key %q", img.RawDeletedAt, img.Count, img.RawKey)
	}
	if imgs, _ := d.RawExpired(ctx, t0.Add(200*time.Hour), 10); !reflect.DeepEqual(ids(imgs), []string{"new-counted"}) {
		t.Errorf("RawExpired later: %v, want new-counted", ids(imgs))
	}
	if err := d.MarkRawDeleted(ctx, "nope", at); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("MarkRawDeleted(absent) = %v", err)
	}
}

func refsOf(t *testing.T, d *db.DB, device string) []string {
	t.Helper()
	var out []string
	fn := func(r db.ObjectRef) error { out = append(out, r.Bucket+":"+r.Key+"@"+r.ItemID); return nil }
	var err error
	if device == "" {
		err = d.EachObjectRef(context.Background(), fn)
	} else {
		err = d.EachDeviceObjectRef(context.Background(), device, fn)
	}
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func testObjectRefs(t *testing.T, d *db.DB) {
	ctx := context.Background()
	a := image("o1", "dev-a", t0)
	a.MaskKey = "dev-a/o1/mask.png"
	put(t, d, a)
	put(t, d, image("o2", "dev-b", t0))
	countNext(t, d, db.CountRecord{Count: 1, AnnotatedKey: "dev-a/o1/annotated.jpg", MaskKey: "dev-a/o1/mask.png"})
	_, _ = d.QueueRecount(ctx, db.RecountQuery{Since: t0})
	countNext(t, d, db.CountRecord{Count: 1, AnnotatedKey: "dev-a/o1/annotated-x.jpg", MaskKey: "dev-a/o1/mask-x.png"})
	countNext(t, d, db.CountRecord{Count: 1, AnnotatedKey: "dev-b/o2/annotated.jpg"})
	_ = d.MarkRawDeleted(ctx, "o2", t0)
	want := []string{
		"processed:dev-a/o1/annotated-x.jpg@o1", "processed:dev-a/o1/annotated.jpg@o1", "processed:dev-a/o1/mask-x.png@o1",
		"processed:dev-a/o1/mask.png@o1", "processed:dev-b/o2/annotated.jpg@o2", "raw:dev-a/o1/image.jpg@o1", "raw:dev-a/o1/mask.png@o1",
	}
	if got := refsOf(t, d, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("EachObjectRef:\n got %v\nwant %v", got, want)
	}
	if got := refsOf(t, d, "dev-b"); !reflect.DeepEqual(got, []string{"processed:dev-b/o2/annotated.jpg@o2"}) {
		t.Errorf("EachDeviceObjectRef(dev-b): %v", got)
	}
	for sha, want := range map[string]bool{"": true, "cccccc": false} {
		if got, err := d.ModelInUse(ctx, sha); err != nil || got != want {
			t.Errorf("ModelInUse(%q) = %v, %v; want %v", sha, got, err, want)
		}
	}
}

func testPurgeDevice(t *testing.T, d *db.DB) {
	ctx := context.Background()
	// dev-a has images in scans "shared" (with dev-b) and "own"; a
	// recount leaves a kept count; it has a credential, a token and a
	// staged chunk.
	for i, s := range []string{"shared", "own"} {
		img := image(fmt.Sprintf("a%d", i), "dev-a", t0)
		img.ScanID = s
		put(t, d, img)
	}
	b := image("b0", "dev-b", t0)
	b.ScanID = "shared"
	put(t, d, b)
	for range 3 {
		countNext(t, d, db.CountRecord{Count: 2})
	}
	_, _ = d.QueueRecount(ctx, db.RecountQuery{ScanID: "own"})
	countNext(t, d, db.CountRecord{Count: 3})
	if err := d.UpdateDevice(ctx, db.DeviceStatus{Device: "dev-a", Seen: t0}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddCredential(ctx, db.Credential{Username: "dev-a", Role: db.RoleDevice, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateToken(ctx, db.Token{Hash: "h-a", Scope: db.ScopeWrite, Device: "dev-a"}); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateToken(ctx, db.Token{Hash: "h-free", Scope: db.ScopeRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StageChunks(ctx, []db.StagedChunk{{Device: "dev-a", ItemID: "x", Chunk: 0, Chunks: 2, Frame: []byte{1}}}); err != nil {
		t.Fatal(err)
	}
	p, err := d.PurgeDevice(ctx, "dev-a")
	want := db.Purged{Images: 2, Counts: 3, Scans: 1, StagedChunks: 1, Device: 1, Credential: 1, Tokens: 1}
	if err != nil || p != want {
		t.Fatalf("PurgeDevice = %+v, %v; want %+v", p, err, want)
	}
	if imgs, _, _ := d.ListImages(ctx, db.ImageQuery{}); !reflect.DeepEqual(ids(imgs), []string{"b0"}) {
		t.Errorf("images left: %v, want b0", ids(imgs))
	}
	if ss, _, _ := d.ListScans(ctx, db.ScanQuery{}); !reflect.DeepEqual(scanIDs(ss), []string{"shared"}) {
		t.Errorf("scans left: %v, want shared", scanIDs(ss))
	}
	var jobs, history int
	d.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs").Scan(&jobs)
	d.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM count_history").Scan(&history)
	if jobs != 1 || history != 0 {
		t.Errorf("%d jobs and %d kept counts left, want 1 and 0", jobs, history)
	}
	if _, err := d.GetCredential(ctx, "dev-a"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("credential left: %v", err)
	}
	if ts, _ := d.ListTokens(ctx); len(ts) != 1 || ts[0].Hash != "h-free" {
		t.Errorf("tokens left: %+v", ts)
	}
	if p, err := d.PurgeDevice(ctx, "dev-a"); err != nil || p != (db.Purged{}) {
		t.Errorf("purging again: %+v, %v", p, err)
	}
	if _, err := d.PurgeDevice(ctx, "../x"); !errors.Is(err, db.ErrInvalid) {
		t.Errorf("PurgeDevice(bad id) = %v", err)
	}
}
