package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Example shows the delivery contract: Put, hand out with Next, remove
// only on the cloud's ack.
func Example() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{Sync: outbox.SyncBatch}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ob.Close()
	it := wire.Item{
		Meta:  wire.Meta{ItemID: "01JD4W4F3Y7Q9K2N8V6X5T1R0S", Device: "pi-1", Seq: 1},
		Parts: []wire.Part{{Name: wire.PartImage, ContentType: "image/jpeg", Data: []byte("jpeg")}},
	}
	// The item and the source position commit together.
	if err := ob.Put(context.Background(), it, outbox.Cursor{Source: "card", Position: "DJI_0001.JPG"}); err != nil {
		fmt.Println(err)
		return
	}
	recs, _ := ob.Next("", 10)
	for _, r := range recs {
		fmt.Println("send", r.ID)
		_ = ob.Ack(r.ID) // on the cloud's "stored" ack
	}
	pos, _ := ob.Cursor("card")
	st, _ := ob.Stats()
	fmt.Println("resume after", pos, "depth", st.Depth)
	// Output:
	// send 01JD4W4F3Y7Q9K2N8V6X5T1R0S
	// resume after DJI_0001.JPG depth 0
}
