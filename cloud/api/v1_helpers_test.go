package api

import (
	"hash/crc32"
	"os"
	"testing"
)

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// routeSources is the text of the files that register routes.
func routeSources(t *testing.T) string {
	var s string
	for _, f := range []string{"routes.go", "v1.go", "time.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s += string(b)
	}
	return s
}
