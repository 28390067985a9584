package wire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func testDesired() Desired {
	return Desired{
		Device: "pi-1", Version: 7, Issued: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), Rollout: "r-1",
		Config: json.RawMessage(`{"select":{"min_share":0.1}}`),
		Model:  &ModelRef{SHA256: strings.Repeat("ab", 32), Size: 300_000, ChunkSize: DefaultArtifactChunk, Name: "m.onnx"},
	}
}

func TestDesiredSignOpen(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	d := testDesired()
	good, err := SignDesired(key, d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenDesired(good, pub, "pi-1")
	if err != nil {
		t.Fatalf("OpenDesired: %v", err)
	}
	if got.Version != 7 || got.Model.SHA256 != d.Model.SHA256 || string(got.Config) != string(d.Config) || !got.Issued.Equal(d.Issued) {
		t.Errorf("OpenDesired = %+v, want %+v", got, d)
	}
	if n := got.Model.Chunks(); n != 3 {
		t.Errorf("Chunks() = %d, want 3", n)
	}
	if l := got.Model.ChunkLen(2); l != 300_000-2*DefaultArtifactChunk {
		t.Errorf("ChunkLen(2) = %d", l)
	}

	var env map[string]any
	_ = json.Unmarshal(good, &env)
	unsigned, _ := json.Marshal(map[string]any{"doc": env["doc"]})
	otherDoc := d
	otherDoc.Device = "pi-2"
	forOther, _ := SignDesired(key, otherDoc)
	otherSigned, _ := SignDesired(otherKey, d)
	// A document whose signed bytes were changed: sign one, then swap in
	// another document's bytes under the same signature.
	d2 := d
	d2.Version = 99
	swapped, _ := SignDesired(key, d2)
	var e1, e2 envelope
	_ = json.Unmarshal(good, &e1)
	_ = json.Unmarshal(swapped, &e2)
	e2.Sig = e1.Sig
	swappedBytes, _ := json.Marshal(e2)
	e3 := e1
	e3.Sig = "AAAA" + e1.Sig[4:]
	tampered, _ := json.Marshal(e3)

	for _, tc := range []struct {
		name    string
		payload []byte
		key     ed25519.PublicKey
		want    error
	}{
		{"unsigned", unsigned, pub, ErrDesiredUnsigned},
		{"no key on the device", good, nil, ErrDesiredUnsigned},
		{"bad signature", tampered, pub, ErrDesiredBadSignature},
		{"another key", otherSigned, pub, ErrDesiredBadSignature},
		{"wrong key given", good, otherPub, ErrDesiredBadSignature},
		{"document changed under its signature", swappedBytes, pub, ErrDesiredBadSignature},
		{"for another device", forOther, pub, ErrDesiredOtherDevice},
		{"not JSON", []byte("retained junk"), pub, ErrDesiredMalformed},
		{"too large", bytes.Repeat([]byte(" "), MaxDesiredBytes+1), pub, ErrDesiredMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenDesired(tc.payload, tc.key, "pi-1"); !errors.Is(err, tc.want) {
				t.Errorf("OpenDesired: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDesiredValidate(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		edit func(*Desired)
	}{
		{"version 0", func(d *Desired) { d.Version = 0 }},
		{"bad device", func(d *Desired) { d.Device = "a/b" }},
		{"config not an object", func(d *Desired) { d.Config = json.RawMessage(`[1]`) }},
		{"bad sha", func(d *Desired) { d.Model.SHA256 = "x" }},
		{"empty model", func(d *Desired) { d.Model.Size = 0 }},
		{"chunks too large", func(d *Desired) { d.Model.ChunkSize = DefaultChunkSize }},
		{"chunks too small", func(d *Desired) { d.Model.ChunkSize = 10 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testDesired()
			m := *d.Model
			d.Model = &m
			tc.edit(&d)
			if _, err := SignDesired(key, d); err == nil {
				t.Error("SignDesired: no error")
			}
		})
	}
	d := testDesired()
	d.Model, d.Config = nil, nil
	if _, err := SignDesired(key, d); err != nil {
		t.Errorf("a document without model or config: %v", err)
	}
}

func TestFetchRoundTrip(t *testing.T) {
	r := FetchRequest{SHA256: strings.Repeat("0f", 32), Chunks: []int{0, 3, 4}}
	b, err := EncodeFetch(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFetch(b)
	if err != nil || got.SHA256 != r.SHA256 || len(got.Chunks) != 3 || got.Chunks[2] != 4 {
		t.Fatalf("DecodeFetch = %+v, %v", got, err)
	}
	for _, bad := range []string{`{}`, `{"sha256":"` + r.SHA256 + `","chunks":[]}`, `{"sha256":"` + r.SHA256 + `","chunks":[-1]}`,
		`{"sha256":"` + r.SHA256 + `","chunks":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}`, `{"sha256":"x","chunks":[1]}`} {
		if _, err := DecodeFetch([]byte(bad)); err == nil {
			t.Errorf("DecodeFetch(%s): no error", bad)
		}
	}
}

func TestArtifactChunkRoundTrip(t *testing.T) {
	c := ArtifactChunk{SHA256: strings.Repeat("0f", 32), Chunk: 2, Offset: 2000, Size: 2500, Data: bytes.Repeat([]byte{7}, 500)}
	f, err := AppendArtifactChunk(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) > prefixLen+200+len(c.Data) {
		t.Errorf("frame of %d bytes for %d of data: header too large", len(f), len(c.Data))
	}
	got, err := ParseArtifactChunk(f)
	if err != nil || got.Chunk != 2 || got.Offset != 2000 || got.Size != 2500 || !bytes.Equal(got.Data, c.Data) {
		t.Fatalf("ParseArtifactChunk = %+v, %v", got, err)
	}
	over := c
	over.Offset = 2100
	if _, err := AppendArtifactChunk(nil, over); err == nil {
		t.Error("a chunk past the artifact's end was encoded")
	}
	for _, bad := range [][]byte{nil, []byte("CNPY\x01\x00\x00\x00\x02{}"), f[:prefixLen+5], append([]byte("CNPA\x02"), f[5:]...)} {
		if _, err := ParseArtifactChunk(bad); !errors.Is(err, ErrBadArtifactChunk) {
			t.Errorf("ParseArtifactChunk(%q): %v, want ErrBadArtifactChunk", bad, err)
		}
	}
	// The largest chunk of the default size fits the default frame.
	big := ArtifactChunk{SHA256: c.SHA256, Chunk: MaxChunks - 1, Offset: MaxArtifactBytes - DefaultArtifactChunk, Size: MaxArtifactBytes, Data: make([]byte, DefaultArtifactChunk)}
	if f, err := AppendArtifactChunk(nil, big); err != nil || len(f) > DefaultChunkSize {
		t.Errorf("largest chunk frame: %d bytes, %v; want at most %d", len(f), err, DefaultChunkSize)
	}
}

func TestReportedInStatus(t *testing.T) {
	s := Status{Device: "pi-1", State: StateOnline, Time: time.Unix(0, 0).UTC(),
		Reported: &Reported{Version: 3, ModelSHA256: strings.Repeat("ab", 32), State: ReportRolledBack, FailedVersion: 4, LastError: "model failed its check"}}
	b, err := EncodeStatus(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatus(b)
	if err != nil || got.Reported == nil || *got.Reported != *s.Reported {
		t.Fatalf("DecodeStatus = %+v, %v", got.Reported, err)
	}
	s.Reported.State = "bogus"
	if _, err := EncodeStatus(s); err == nil {
		t.Error("unknown reported state encoded")
	}
}
