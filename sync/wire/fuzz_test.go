package wire

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"
)

func FuzzReassemble(f *testing.F) {
	it := testItem(testID, 3000)
	frames, err := Chunk(it, 1024)
	if err != nil {
		f.Fatal(err)
	}
	for _, fr := range frames {
		f.Add(fr, uint8(0))
	}
	b, _ := Marshal(testItem(testID, 10))
	f.Add(b, uint8(1))
	f.Add([]byte("CNPY\x01\x00\x00\x00\x02{}"), uint8(0))
	f.Fuzz(func(t *testing.T, frame []byte, prefix uint8) {
		r := NewReassembler(Limits{MaxItemBytes: 1 << 16, MaxInProgress: 4})
		// Feed some genuine chunks first so that the fuzzed frame meets
		// an item in progress.
		for i := 0; i < int(prefix)%len(frames); i++ {
			if _, err := r.Add(frames[i], time.Unix(0, 0)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.Add(frame, time.Unix(0, 0))
		if err != nil {
			if _, ok := err.(*RejectError); !ok {
				t.Fatalf("error %T is not *RejectError: %v", err, err)
			}
			if got != nil {
				t.Fatal("item and error")
			}
			return
		}
		if got != nil {
			if err := got.Validate(); err != nil {
				t.Fatalf("reassembled an invalid item: %v", err)
			}
		}
		r.Expire(time.Unix(1e6, 0))
		if r.InProgress() != 0 {
			t.Fatal("Expire left items")
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	for _, n := range []int{0, 10, 500} {
		b, _ := Marshal(testItem(testID, n))
		f.Add(b)
	}
	f.Add([]byte("CNPY\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := Unmarshal(b)
		if err != nil {
			return
		}
		b2, err := Marshal(it)
		if err != nil {
			t.Fatalf("Marshal of an unmarshalled item: %v", err)
		}
		if _, err := Unmarshal(b2); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecodeAck(f *testing.F) {
	f.Add([]byte(`{"item_id":"01J","status":"stored","duplicate":true}`))
	f.Add([]byte(`{"item_id":"01J","status":"rejected","reason":"too_large"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAck(b)
		if err != nil {
			return
		}
		enc, err := EncodeAck(a)
		if err != nil {
			t.Fatalf("EncodeAck of a decoded ack: %v", err)
		}
		if back, err := DecodeAck(enc); err != nil || back != a {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, a)
		}
	})
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte(`{"device":"pi-1","state":"online","outbox_depth":3,"outbox_bytes":600,"oldest_age_seconds":1.5,"version":"v0.1.0","time":"2026-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"device":"pi-1","state":"offline","time":"0001-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeStatus(b)
		if err != nil {
			return
		}
		if _, err := EncodeStatus(s); err != nil {
			t.Fatalf("EncodeStatus of a decoded status: %v", err)
		}
	})
}

func FuzzDecodeDesired(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	good, err := SignDesired(key, testDesired())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"doc":"e30=","sig":""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := OpenDesired(b, pub, "pi-1")
		if err != nil {
			return
		}
		if _, err := SignDesired(key, d); err != nil {
			t.Fatalf("SignDesired of an opened document: %v", err)
		}
	})
}

func FuzzDecodeFetch(f *testing.F) {
	f.Add([]byte(`{"sha256":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","chunks":[0,1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeFetch(b)
		if err != nil {
			return
		}
		if _, err := EncodeFetch(r); err != nil {
			t.Fatalf("EncodeFetch of a decoded request: %v", err)
		}
	})
}

func FuzzParseArtifactChunk(f *testing.F) {
	c := ArtifactChunk{SHA256: "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f", Chunk: 1, Offset: 10, Size: 30, Data: make([]byte, 20)}
	fr, err := AppendArtifactChunk(nil, c)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fr)
	f.Add([]byte("CNPA\x01\x00\x00\x00\x02{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseArtifactChunk(b)
		if err != nil {
			return
		}
		if c.Offset+int64(len(c.Data)) > c.Size {
			t.Fatalf("chunk overflows its artifact: %+v", c)
		}
		if _, err := AppendArtifactChunk(nil, c); err != nil {
			t.Fatalf("AppendArtifactChunk of a parsed chunk: %v", err)
		}
	})
}
