//go:build onnx

package onnx_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/canopy-forest/canopy/segment/onnx"
	"github.com/canopy-forest/canopy/segment/segmenttest"
)

// The shipped model needs no settings: layout, input size, normalisation and
// threshold come from its metadata. LibraryPath "" finds ONNX Runtime in the
// usual places ($CANOPY_ORT_LIB first).
func ExampleNew() {
	s, err := onnx.New(onnx.Config{ModelPath: "../../models/treecover-seg.onnx", Threads: 1},
		slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	res, err := s.Segment(context.Background(), segmenttest.Canopy(640, 480, 1))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Mask.Bounds(), res.Share > 0.5, s.Info().Name)
}
