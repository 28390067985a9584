package ulid_test

import (
	"fmt"
	"time"

	"github.com/canopy-forest/canopy/internal/ulid"
)

func ExampleGenerator_New() {
	g := ulid.NewGenerator(nil)
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	a, _ := g.New(at)
	b, _ := g.New(at) // same millisecond: still sorts after a
	t, _ := ulid.Time(b)
	fmt.Println(len(a), a < b, a[:10] == b[:10], t.UTC())
	// Output: 26 true true 2026-06-01 12:00:00 +0000 UTC
}
