package blob_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
)

func ExampleKey() {
	at := time.Date(2026, 5, 17, 10, 30, 0, 0, time.UTC)
	fmt.Println(blob.Key("pi5-north", at, "01HZX3K9V2", blob.NameImage))
	// Output: pi5-north/2026/05/17/01HZX3K9V2/image.jpg
}

func ExampleLocal() {
	dir, _ := os.MkdirTemp("", "blobs")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, _ := blob.NewLocal(dir)
	_ = blob.EnsureBuckets(ctx, s)
	_ = s.Put(ctx, blob.Raw, "pi5-north/2026/05/17/01HZX3K9V2/image.jpg", []byte("..."), "image/jpeg")
	keys, _ := s.List(ctx, blob.Raw, "pi5-north/2026/05/")
	fmt.Println(keys)
	// Output: [pi5-north/2026/05/17/01HZX3K9V2/image.jpg]
}
