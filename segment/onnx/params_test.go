package onnx

import (
	"fmt"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	in := func(d ...int64) []tensorInfo {
		return []tensorInfo{{Name: "x", Tensor: true, Type: "float32", Float32: true, Dims: d}}
	}
	out := []tensorInfo{{Name: "y", Tensor: true, Type: "float32", Float32: true, Dims: []int64{1, 2, -1, -1}}}
	tests := []struct {
		name    string
		c       Config
		meta    map[string]string
		in      []tensorInfo
		want    string // substring of fmt of params, or of the error
		wantErr bool
	}{
		{"nchw dynamic default size", Config{}, nil, in(1, 3, -1, -1), "InputShape:[1 3 256 256]", false},
		{"nhwc fixed", Config{}, nil, in(1, 64, 32, 3), "InputShape:[1 64 32 3]", false},
		{"metadata size", Config{}, map[string]string{MetaInputSize: "96x48"}, in(-1, 3, -1, -1), "InputShape:[1 3 48 96]", false},
		{"config beats metadata", Config{InputWidth: 40}, map[string]string{MetaInputSize: "96x48"}, in(1, 3, -1, -1), "InputShape:[1 3 40 40]", false},
		{"metadata mean std", Config{}, map[string]string{MetaMean: "0.1,0.2,0.3", MetaStd: "0.5"}, in(1, 3, 8, 8), "Mean:[0.1 0.2 0.3] Std:[0.5 0.5 0.5]", false},
		{"class zero", Config{ForestClass: ClassZero}, map[string]string{MetaForestClass: "3"}, in(1, 3, 8, 8), "ForestClass:0", false},
		{"metadata class", Config{}, map[string]string{MetaForestClass: "3"}, in(1, 3, 8, 8), "ForestClass:3", false},
		{"two channels", Config{}, nil, in(1, 2, 8, 8), "want shape (N,3,H,W) or (N,H,W,3), got (1,2,8,8)", true},
		{"rank 3 input", Config{}, nil, in(3, 8, 8), "got (3,8,8)", true},
		{"batch 4", Config{}, nil, in(4, 3, 8, 8), "batch size 1", true},
		{"fixed size mismatch", Config{InputWidth: 16, InputHeight: 16}, nil, in(1, 3, 8, 8), "fixed at (1,3,8,8)", true},
		{"bad metadata size", Config{}, map[string]string{MetaInputSize: "big"}, in(1, 3, -1, -1), "canopy.input_size", true},
		{"bad layout", Config{Layout: "chw"}, nil, in(1, 3, 8, 8), `layout "chw"`, true},
		{"bad threshold", Config{}, map[string]string{MetaThreshold: "2"}, in(1, 3, 8, 8), "threshold 2", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := resolve(tt.c, tt.meta, tt.in, out)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got error %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := fmtParams(p); !strings.Contains(got, tt.want) {
				t.Errorf("got %s, want it to contain %s", got, tt.want)
			}
		})
	}
}

func TestReadOutShape(t *testing.T) {
	p := Params{Layout: LayoutNCHW, OutputName: "y", InputShape: []int64{1, 3, 8, 8}}
	tests := []struct {
		dims    []int64
		want    outShape
		wantErr bool
	}{
		{[]int64{1, 2, 8, 8}, outShape{c: 2, h: 8, w: 8, chFirst: true}, false},
		{[]int64{1, 8, 8, 2}, outShape{c: 2, h: 8, w: 8}, false},
		{[]int64{1, 4, 4}, outShape{c: 1, h: 4, w: 4, chFirst: true}, false},
		{[]int64{1, 1, 4, 4}, outShape{c: 1, h: 4, w: 4, chFirst: true}, false},
		{[]int64{1, 3, 3, 3}, outShape{c: 3, h: 3, w: 3, chFirst: true}, false},
		{[]int64{2, 2, 8, 8}, outShape{}, true},
		{[]int64{1, 64}, outShape{}, true},
	}
	for _, tt := range tests {
		got, err := readOutShape(tt.dims, p)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("readOutShape(%v) = %+v, %v; want %+v, error %v", tt.dims, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzMetadata feeds arbitrary metadata values (bytes from a model file) to
// resolve: it must return params or an error, never panic.
func FuzzMetadata(f *testing.F) {
	f.Add("96x48", "0.5,0.5,0.5", "0.25", "2", "0.5", "nchw")
	f.Add("", "", "", "", "", "")
	f.Add("x", "1,2", "0", "-1", "nan", "nhwc")
	f.Fuzz(func(t *testing.T, size, mean, std, class, th, layout string) {
		meta := map[string]string{MetaInputSize: size, MetaMean: mean, MetaStd: std, MetaForestClass: class, MetaThreshold: th, MetaLayout: layout}
		in := []tensorInfo{{Name: "x", Tensor: true, Float32: true, Dims: []int64{1, 3, -1, -1}}}
		out := []tensorInfo{{Name: "y", Tensor: true, Float32: true, Dims: []int64{1, 1, -1, -1}}}
		p, err := resolve(Config{}, meta, in, out)
		if err == nil && (p.InputWidth < 1 || p.InputHeight < 1) {
			t.Errorf("no error but input size %dx%d", p.InputWidth, p.InputHeight)
		}
	})
}

func fmtParams(p Params) string { return fmt.Sprintf("%+v", p) }
