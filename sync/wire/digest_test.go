package wire

import (
	"bytes"
	"testing"
)

// TestChunkDigest: chunking with the digest UnmarshalDigest checked gives
// exactly the frames Chunk gives, which reassemble to the item.
func TestChunkDigest(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		maxFrame int
	}{
		{"empty", 0, 0},
		{"one frame", 1000, 0},
		{"several frames", 200 << 10, 0},
		{"small frames", 20 << 10, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := testItem(testID, tt.size)
			b, err := Marshal(it)
			if err != nil {
				t.Fatal(err)
			}
			got, sum, err := UnmarshalDigest(b)
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := ParseFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			if sum != h.SHA256 {
				t.Fatalf("UnmarshalDigest digest %s, header says %s", sum, h.SHA256)
			}
			want, err := Chunk(it, tt.maxFrame)
			if err != nil {
				t.Fatal(err)
			}
			frames, err := ChunkDigest(got, sum, tt.maxFrame)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != len(want) {
				t.Fatalf("%d frames, Chunk gives %d", len(frames), len(want))
			}
			for i := range frames {
				if !bytes.Equal(frames[i], want[i]) {
					t.Errorf("frame %d differs from Chunk's", i)
				}
			}
			if r := reassembleAll(t, NewReassembler(Limits{}), frames); r == nil {
				t.Error("frames did not reassemble")
			}
		})
	}
	if _, err := ChunkDigest(testItem(testID, 10), "", 0); err == nil {
		t.Error("ChunkDigest with an empty digest: no error")
	}
}
