package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testItem(id string, imageBytes int) Item {
	r := rand.New(rand.NewPCG(uint64(imageBytes), 7))
	img := make([]byte, imageBytes)
	for i := range img {
		img[i] = byte(r.Uint32())
	}
	alt := 312.5
	return Item{
		Meta: Meta{
			ItemID:      id,
			Device:      "pi-north-1",
			Seq:         42,
			CapturedAt:  time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC),
			ClockSynced: true,
			GPS:         &GPS{Lat: 51.5, Lon: -0.12, Alt: &alt},
			Width:       1920,
			Height:      1080,
			ForestShare: 0.61,
			Segmenter:   "classical",
			ScanID:      "scan-7",
			AddressID:   "addr-9",
			TreeType:    "oak",
			Source:      "DJI_0001.JPG",
		},
		Parts: []Part{
			{Name: PartImage, ContentType: "image/jpeg", Data: img},
			{Name: PartMask, ContentType: "image/png", Data: []byte("mask-bytes")},
		},
	}
}

const testID = "01JD0000000000000000000000"

func reassembleAll(t *testing.T, r *Reassembler, frames [][]byte) *Item {
	t.Helper()
	var got *Item
	for i, f := range frames {
		it, err := r.Add(f, time.Unix(0, 0))
		if err != nil {
			t.Fatalf("Add frame %d: %v", i, err)
		}
		if it != nil {
			if i != len(frames)-1 {
				t.Fatalf("item complete after frame %d of %d", i, len(frames))
			}
			got = it
		}
	}
	if got == nil {
		t.Fatal("item not complete after all frames")
	}
	return got
}

func TestChunkRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		maxFrame int
	}{
		{"empty", 0, DefaultChunkSize},
		{"small", 100, DefaultChunkSize},
		{"exact", 5000, 2000},
		{"1MB", 1 << 20, DefaultChunkSize},
		{"tiny frames", 3000, 1200},
		{"default size", 300 << 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := testItem(testID, tc.size)
			frames, err := Chunk(it, tc.maxFrame)
			if err != nil {
				t.Fatal(err)
			}
			max := tc.maxFrame
			if max == 0 {
				max = DefaultChunkSize
			}
			for i, f := range frames {
				if len(f) > max {
					t.Errorf("frame %d is %d bytes, want ≤ %d", i, len(f), max)
				}
			}
			// Any order works.
			rand.Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
			got := reassembleAll(t, NewReassembler(Limits{}), frames)
			if got.Digest != bodyDigest(it) {
				t.Errorf("reassembled item's Digest %q, want its body's SHA-256", got.Digest)
			}
			got.Digest = ""
			if !reflect.DeepEqual(*got, it) {
				t.Errorf("reassembled item differs:\ngot  %+v\nwant %+v", got.Meta, it.Meta)
			}
		})
	}
}

func TestChunkFrameTooSmall(t *testing.T) {
	it := testItem(testID, 1000)
	for _, n := range []int{1, 9, 100, 400} {
		if _, err := Chunk(it, n); err == nil {
			t.Errorf("Chunk(maxFrame=%d): got no error, want one", n)
		}
	}
}

func TestChunkInvalidItem(t *testing.T) {
	it := testItem("bad id", 10)
	if _, err := Chunk(it, 0); err == nil {
		t.Error("Chunk with a bad item id: got no error")
	}
	it = testItem(testID, 10)
	it.Meta.Device = "a/b"
	if _, err := Chunk(it, 0); err == nil {
		t.Error("Chunk with a bad device: got no error")
	}
}

// TestOverhead proves the frame overhead on a 1 MB item split at 128 KiB is
// under 1%.
func TestOverhead(t *testing.T) {
	it := testItem(testID, 1_000_000)
	frames, err := Chunk(it, DefaultChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	over := float64(n-it.Size()) / float64(it.Size())
	t.Logf("1 MB item: %d frames, %d bytes, overhead %.3f%%", len(frames), n, 100*over)
	if over >= 0.01 {
		t.Errorf("overhead %.3f%%, want < 1%%", 100*over)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, 200 << 10} {
		it := testItem(testID, size)
		b, err := Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != bodyDigest(it) {
			t.Errorf("size %d: Digest %q, want the body's SHA-256", size, got.Digest)
		}
		got.Digest = ""
		if !reflect.DeepEqual(got, it) {
			t.Errorf("size %d: round trip differs", size)
		}
		if len(b) > 0 {
			b[len(b)-1] ^= 1
			if size > 0 {
				if _, err := Unmarshal(b); reason(err) != ReasonDigestMismatch {
					t.Errorf("flipped bit: got %v, want %s", err, ReasonDigestMismatch)
				}
			}
		}
	}
}

func reason(err error) string {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	if err == nil {
		return "<nil>"
	}
	return "not a RejectError: " + err.Error()
}

// frame builds a frame with header h (JSON) and body.
func frame(h Header, body []byte) []byte {
	f, err := appendFrame(nil, &h, body)
	if err != nil {
		panic(err)
	}
	return f
}

func TestReassemblerRejects(t *testing.T) {
	it := testItem(testID, 10_000)
	good, err := Chunk(it, 4096)
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(i int) (Header, []byte) {
		h, b, err := ParseFrame(good[i])
		if err != nil {
			t.Fatal(err)
		}
		return h, b
	}
	mut := func(i int, f func(h *Header, b []byte) []byte) []byte {
		h, b := hdr(i)
		b = append([]byte(nil), b...)
		if f != nil {
			b = f(&h, b)
		}
		return frame(h, b)
	}
	rawHeader := func(js string) []byte {
		f := []byte("CNPY\x01")
		f = binary.BigEndian.AppendUint32(f, uint32(len(js)))
		return append(f, js...)
	}
	for _, tc := range []struct {
		name   string
		frames [][]byte // all but the last must be accepted
		lim    Limits
		want   string
	}{
		{"empty", [][]byte{{}}, Limits{}, ReasonBadMagic},
		{"bad magic", [][]byte{append([]byte("XNPY"), good[0][4:]...)}, Limits{}, ReasonBadMagic},
		{"bad version", [][]byte{append([]byte("CNPY\x02"), good[0][5:]...)}, Limits{}, ReasonBadVersion},
		{"header length past end", [][]byte{append([]byte("CNPY\x01\x00\x10\x00\x00"), '{', '}')}, Limits{}, ReasonBadHeader},
		{"truncated header", [][]byte{good[0][:40]}, Limits{}, ReasonBadHeader},
		{"not json", [][]byte{rawHeader("nope")}, Limits{}, ReasonBadHeader},
		{"trailing json", [][]byte{rawHeader(`{} {}`)}, Limits{}, ReasonBadHeader},
		{"no item id", [][]byte{rawHeader(`{"device":"d"}`)}, Limits{}, ReasonBadHeader},
		{"bad device", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Device = "../x"; return b })}, Limits{}, ReasonBadDevice},
		{"index out of range", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Chunk = h.Chunks; return b })}, Limits{}, ReasonChunkOutOfRange},
		{"negative index", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Chunk = -1; return b })}, Limits{}, ReasonChunkOutOfRange},
		{"zero chunks", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Chunks = 0; return b })}, Limits{}, ReasonChunkOutOfRange},
		{"too many chunks", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Chunks = MaxChunks + 1; return b })}, Limits{}, ReasonChunkOutOfRange},
		{"more chunks than bytes", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Chunks = 20_000; return b })}, Limits{}, ReasonSizeMismatch},
		{"bad digest text", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.SHA256 = "xyz"; return b })}, Limits{}, ReasonBadHeader},
		{"body past total", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Offset = h.Total - 10; return b })}, Limits{}, ReasonSizeMismatch},
		{"negative total", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Total = -1; return b })}, Limits{}, ReasonSizeMismatch},
		{"parts exceed total", [][]byte{mut(0, func(h *Header, b []byte) []byte { h.Parts[0].Size += 1; return b })}, Limits{}, ReasonSizeMismatch},
		{"parts below total", [][]byte{mut(0, func(h *Header, b []byte) []byte { h.Parts[1].Size -= 1; return b })}, Limits{}, ReasonSizeMismatch},
		{"negative part", [][]byte{mut(0, func(h *Header, b []byte) []byte { h.Parts[1].Size = -5; return b })}, Limits{}, ReasonSizeMismatch},
		{"huge part", [][]byte{mut(0, func(h *Header, b []byte) []byte { h.Parts[0].Size = 1 << 62; return b })}, Limits{}, ReasonSizeMismatch},
		{"no meta in chunk 0", [][]byte{mut(0, func(h *Header, b []byte) []byte { h.Meta = nil; return b })}, Limits{}, ReasonBadHeader},
		{"meta in chunk 1", [][]byte{mut(1, func(h *Header, b []byte) []byte { h.Meta = &it.Meta; return b })}, Limits{}, ReasonBadHeader},
		{"meta names other item", [][]byte{mut(0, func(h *Header, b []byte) []byte { m := it.Meta; m.ItemID = "other"; h.Meta = &m; return b })}, Limits{}, ReasonHeaderMismatch},
		{"empty chunk", [][]byte{mut(1, func(h *Header, b []byte) []byte { return nil })}, Limits{}, ReasonSizeMismatch},
		{"too large", [][]byte{good[0]}, Limits{MaxItemBytes: 9999}, ReasonTooLarge},
		{"too many in progress", [][]byte{good[0], mut(0, func(h *Header, b []byte) []byte {
			h.ItemID = "other"
			m := it.Meta
			m.ItemID = "other"
			h.Meta = &m
			return b
		})}, Limits{MaxInProgress: 1}, ReasonTooManyInProgress},
		{"conflicting copy", [][]byte{good[1], mut(1, func(h *Header, b []byte) []byte { b[0] ^= 1; return b })}, Limits{}, ReasonDuplicateChunk},
		{"conflicting header copy", [][]byte{good[0], mut(0, func(h *Header, b []byte) []byte { h.Meta.TreeType = "pine"; return b })}, Limits{}, ReasonDuplicateChunk},
		{"seq differs", [][]byte{good[0], mut(1, func(h *Header, b []byte) []byte { h.Seq++; return b })}, Limits{}, ReasonHeaderMismatch},
		{"digest differs", [][]byte{good[0], mut(1, func(h *Header, b []byte) []byte { h.SHA256 = strings.Repeat("0", 64); return b })}, Limits{}, ReasonHeaderMismatch},
		{"count differs", [][]byte{good[0], mut(1, func(h *Header, b []byte) []byte { h.Chunks++; return b })}, Limits{}, ReasonHeaderMismatch},
		{"chunks overflow total", [][]byte{good[0], good[1], mut(2, func(h *Header, b []byte) []byte { return append(b, good[1][len(good[1])-2000:]...) })}, Limits{}, ReasonSizeMismatch},
		{"wrong offset", [][]byte{good[0], mut(1, func(h *Header, b []byte) []byte { h.Offset++; return b[:len(b)-1] })}, Limits{}, ReasonSizeMismatch},
		{"wrong offset, out of order", [][]byte{good[0], good[2], mut(1, func(h *Header, b []byte) []byte { h.Offset++; return b[:len(b)-1] })}, Limits{}, ReasonSizeMismatch},
		{"corrupt body", [][]byte{good[0], good[1], mut(2, func(h *Header, b []byte) []byte { b[0] ^= 1; return b })}, Limits{}, ReasonDigestMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReassembler(tc.lim)
			n := len(tc.frames)
			for i, f := range tc.frames[:n-1] {
				if _, err := r.Add(f, time.Unix(0, 0)); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			it, err := r.Add(tc.frames[n-1], time.Unix(0, 0))
			if got := reason(err); got != tc.want || it != nil {
				t.Errorf("got item %v, reason %s (%v); want reason %s", it != nil, got, err, tc.want)
			}
		})
	}
}

func TestReassemblerRedelivery(t *testing.T) {
	it := testItem(testID, 10_000)
	frames, err := Chunk(it, 4096)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReassembler(Limits{})
	now := time.Unix(0, 0)
	// Every chunk twice, before the last one: exact copies are ignored.
	for _, f := range frames[:len(frames)-1] {
		for range 2 {
			if got, err := r.Add(f, now); err != nil || got != nil {
				t.Fatalf("got %v, %v; want nil, nil", got, err)
			}
		}
	}
	got, err := r.Add(frames[len(frames)-1], now)
	if err != nil || got == nil {
		t.Fatalf("last chunk: got %v, %v; want the item", got, err)
	}
	if r.InProgress() != 0 {
		t.Errorf("InProgress after completion = %d, want 0", r.InProgress())
	}
	// A full retransmission completes again.
	again := reassembleAll(t, r, frames)
	if again.Meta.ItemID != it.Meta.ItemID {
		t.Errorf("retransmission: got %s", again.Meta.ItemID)
	}
	// A lone late chunk waits, then expires.
	if _, err := r.Add(frames[1], now); err != nil {
		t.Fatal(err)
	}
	if got := r.Expire(now.Add(DefaultTimeout)); len(got) != 0 {
		t.Errorf("Expire at the timeout = %v, want none", got)
	}
	if got := r.Expire(now.Add(DefaultTimeout + time.Second)); !reflect.DeepEqual(got, []string{testID}) {
		t.Errorf("Expire after the timeout = %v, want [%s]", got, testID)
	}
	if r.InProgress() != 0 {
		t.Errorf("InProgress after Expire = %d, want 0", r.InProgress())
	}
}

func TestReassemblerDevicesApart(t *testing.T) {
	// The same item id from two devices are two items.
	a := testItem(testID, 5000)
	b := testItem(testID, 5000)
	b.Meta.Device = "other"
	fa, _ := Chunk(a, 2048)
	fb, _ := Chunk(b, 2048)
	r := NewReassembler(Limits{})
	for i := range fa {
		ga, err := r.Add(fa[i], time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		gb, err := r.Add(fb[i], time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if last := i == len(fa)-1; (ga != nil) != last || (gb != nil) != last {
			t.Fatalf("frame %d: complete a=%v b=%v", i, ga != nil, gb != nil)
		}
		if ga != nil && (ga.Meta.Device != "pi-north-1" || gb.Meta.Device != "other") {
			t.Errorf("devices mixed up: %s %s", ga.Meta.Device, gb.Meta.Device)
		}
	}
}

func TestAddFromDeviceMismatch(t *testing.T) {
	frames, _ := Chunk(testItem(testID, 100), 0)
	r := NewReassembler(Limits{})
	if _, err := r.AddFrom("someone-else", frames[0], time.Unix(0, 0)); reason(err) != ReasonDeviceMismatch {
		t.Errorf("got %v, want %s", err, ReasonDeviceMismatch)
	}
	if it, err := r.AddFrom("pi-north-1", frames[0], time.Unix(0, 0)); err != nil || it == nil {
		t.Errorf("AddFrom the right device: %v, %v", it, err)
	}
}

func TestAck(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"item_id":"01J","status":"stored"}`, true},
		{`{"item_id":"01J","status":"stored","duplicate":true}`, true},
		{`{"item_id":"01J","status":"rejected","reason":"digest_mismatch"}`, true},
		{`{"item_id":"01J","status":"rejected"}`, false},
		{`{"item_id":"01J","status":"maybe"}`, false},
		{`{"status":"stored"}`, false},
		{`{"item_id":"a/b","status":"stored"}`, false},
		{`[]`, false},
		{`{"item_id":"01J","status":"stored"} x`, false},
		{``, false},
	} {
		a, err := DecodeAck([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("DecodeAck(%s): err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			continue
		}
		b, err := EncodeAck(a)
		if err != nil {
			t.Fatal(err)
		}
		back, _ := DecodeAck(b)
		if back != a {
			t.Errorf("round trip %+v != %+v", back, a)
		}
	}
	b, _ := EncodeAck(Ack{ItemID: "X1", Status: AckStored, Duplicate: true})
	if want := `{"item_id":"X1","status":"stored","duplicate":true}`; string(b) != want {
		t.Errorf("EncodeAck = %s, want %s", b, want)
	}
}

func TestStatus(t *testing.T) {
	s := Status{Device: "pi-1", State: StateOnline, OutboxDepth: 3, OutboxBytes: 600, OldestAgeSeconds: 1.5, Version: "v0.1.0", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b, err := EncodeStatus(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"device":"pi-1","state":"online","outbox_depth":3,"outbox_bytes":600,"oldest_age_seconds":1.5,"version":"v0.1.0","time":"2026-01-02T03:04:05Z"}`
	if string(b) != want {
		t.Errorf("EncodeStatus = %s\nwant %s", b, want)
	}
	got, err := DecodeStatus(b)
	if err != nil || got != s {
		t.Errorf("DecodeStatus = %+v, %v", got, err)
	}
	for _, bad := range []string{`{"device":"pi-1","state":"asleep"}`, `{"state":"online"}`, `{"device":"pi-1","state":"online","outbox_depth":-1}`, `nope`} {
		if _, err := DecodeStatus([]byte(bad)); err == nil {
			t.Errorf("DecodeStatus(%s): no error", bad)
		}
	}
}

func TestTopics(t *testing.T) {
	for _, tc := range []struct {
		t                                    Topics
		item, ack, status, filter, statusAll string
	}{
		{Topics{}, "canopy/v1/d1/item", "canopy/v1/d1/ack", "canopy/v1/d1/status", "canopy/v1/+/item", "canopy/v1/+/status"},
		{Topics{Root: "test/abc"}, "test/abc/v1/d1/item", "test/abc/v1/d1/ack", "test/abc/v1/d1/status", "test/abc/v1/+/item", "test/abc/v1/+/status"},
	} {
		got := []string{tc.t.Item("d1"), tc.t.Ack("d1"), tc.t.Status("d1"), tc.t.ItemFilter(), tc.t.StatusFilter()}
		want := []string{tc.item, tc.ack, tc.status, tc.filter, tc.statusAll}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Topics%+v = %v, want %v", tc.t, got, want)
		}
		for _, topic := range want[:3] {
			dev, kind, ok := tc.t.Parse(topic)
			if !ok || dev != "d1" || !strings.HasSuffix(topic, "/"+kind) {
				t.Errorf("Parse(%q) = %q, %q, %v", topic, dev, kind, ok)
			}
		}
	}
	for _, topic := range []string{"canopy/v1/d1/desired", "canopy/v1/d1/fetch", "canopy/v1/d1/artifact"} {
		if dev, kind, ok := (Topics{}).Parse(topic); !ok || dev != "d1" || !strings.HasSuffix(topic, "/"+kind) {
			t.Errorf("Parse(%q) = %q, %q, %v", topic, dev, kind, ok)
		}
	}
	if got := []string{(Topics{}).Desired("d1"), (Topics{}).Fetch("d1"), (Topics{}).Artifact("d1"), (Topics{}).FetchFilter()}; !reflect.DeepEqual(got,
		[]string{"canopy/v1/d1/desired", "canopy/v1/d1/fetch", "canopy/v1/d1/artifact", "canopy/v1/+/fetch"}) {
		t.Errorf("downlink topics = %v", got)
	}
	if got := (Topics{}).SharedItemFilter("ingest"); got != "$share/ingest/canopy/v1/+/item" {
		t.Errorf("SharedItemFilter = %q", got)
	}
	for _, bad := range []string{"canopy/v1/d1/other", "canopy/v2/d1/item", "other/v1/d1/item", "canopy/v1/+/item", "canopy/v1/d1/item/x", "canopy/v1//item"} {
		if _, _, ok := (Topics{}).Parse(bad); ok {
			t.Errorf("Parse(%q) ok, want not", bad)
		}
	}
}

func TestValidDevice(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"pi-1", true}, {"A.b_c-9", true}, {strings.Repeat("x", 64), true},
		{"", false}, {strings.Repeat("x", 65), false}, {"a/b", false}, {"a+b", false}, {"a#", false}, {"é", false}, {"..", false}, {"a b", false},
	} {
		if err := ValidDevice(tc.id); (err == nil) != tc.ok {
			t.Errorf("ValidDevice(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
	}
}

// ExampleChunk splits an item into frames and joins them again.
func ExampleChunk() {
	it := Item{
		Meta:  Meta{ItemID: "01JD4W4F3Y7Q9K2N8V6X5T1R0S", Device: "pi-1", Seq: 1},
		Parts: []Part{{Name: PartImage, ContentType: "image/jpeg", Data: bytes.Repeat([]byte{0xff}, 300_000)}},
	}
	frames, _ := Chunk(it, DefaultChunkSize)
	r := NewReassembler(Limits{})
	for _, f := range frames {
		got, err := r.Add(f, time.Now())
		if err != nil {
			fmt.Println(err)
			return
		}
		if got != nil {
			fmt.Println(len(frames), "frames,", got.Size(), "bytes of", got.Meta.ItemID)
		}
	}
	// Output: 3 frames, 300000 bytes of 01JD4W4F3Y7Q9K2N8V6X5T1R0S
}

func bodyDigest(it Item) string { return digest(it.body()) }
