//go:build onnx

package main

import (
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/agent"
	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/agent/desired"
	"github.com/canopy-forest/canopy/segment"
)

// TestCheckONNX: the shipped model passes the checks of a trial (the
// file, then a frame through the loaded model), so does the same model
// with bytes of an unknown field added (a different file that ONNX Runtime
// still reads), and the model cut short does not.
func TestCheckONNX(t *testing.T) {
	if os.Getenv("CANOPY_ORT_LIB") == "" {
		t.Skip("CANOPY_ORT_LIB is not set")
	}
	model, err := os.ReadFile("../../../models/treecover-seg.onnx")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	padded := binary.AppendUvarint(append([]byte(nil), model...), 100<<3|2) // field 100, bytes
	padded = binary.AppendUvarint(padded, 1000)
	padded = append(padded, make([]byte, 1000)...)
	base := config.Default()
	base.Device = "pi-1"
	base.Segmenter.Library = os.Getenv("CANOPY_ORT_LIB")
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{{"shipped", model, true}, {"padded", padded, true}, {"cut short", model[:len(model)/2], false}} {
		p := filepath.Join(dir, tc.name+".onnx")
		if err := os.WriteFile(p, tc.b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := desired.Settings{Version: 1, ModelPath: p}
		err := checkSettings(base, s)
		if err == nil {
			c, _ := effectiveConfig(base, s)
			var seg segment.Segmenter
			if seg, err = agent.NewSegmenter(c.Segmenter, slog.New(slog.DiscardHandler)); err == nil {
				err = probeSegmenter(context.Background(), seg)
				seg.Close()
			}
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: check = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
