package agent_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"

	"github.com/canopy-forest/canopy/agent"
	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/encode"
	"github.com/canopy-forest/canopy/agent/selection"
	"github.com/canopy-forest/canopy/segment/classical"
	"github.com/canopy-forest/canopy/sync/wire"
)

// A folder of photos through the pipeline into a sink that prints items.
func Example() {
	dir, _ := os.MkdirTemp("", "photos")
	defer os.RemoveAll(dir)
	for i, c := range []color.RGBA{{20, 160, 30, 255}, {128, 128, 128, 255}} {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for p := 0; p < len(img.Pix); p += 4 {
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = c.R, c.G+uint8(p%7), c.B, 255
		}
		f, _ := os.Create(filepath.Join(dir, fmt.Sprintf("photo%d.png", i)))
		png.Encode(f, img)
		f.Close()
	}
	enc, _ := encode.New(encode.Options{Device: "example-1", JPEGQuality: 80, StateDir: dir + "/state"})
	defer enc.Close()
	a, _ := agent.New(agent.Options{
		Capture:   capture.Options{Source: dir},
		Segmenter: classical.New(classical.Options{}),
		Policy:    selection.Policy{MinShare: 0.5},
		Encoder:   enc,
		Sink: agent.SinkFunc(func(ctx context.Context, it wire.Item, cur agent.Cursor) error {
			fmt.Printf("item %d from %s, forest %.0f%%, position %s\n", it.Meta.Seq, it.Meta.Source, 100*it.Meta.ForestShare, cur.Position)
			return nil
		}),
	})
	if err := a.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	s := a.Stats()
	fmt.Println("read", s.FramesRead, "put", s.ItemsPut, "low share", s.Skipped["low_share"])
	// Output:
	// item 1 from photo0.png, forest 100%, position photo0.png
	// read 2 put 1 low share 1
}
