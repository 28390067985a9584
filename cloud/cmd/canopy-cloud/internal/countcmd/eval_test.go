package countcmd

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

func binary(t *testing.T) string { return e2etest.Bin(t, "canopy-cloud") }

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return e2etest.Run(t, binary(t), args...)
}

// TestEvalSharedTrees runs `canopy-cloud eval --json` on ../shared/data/trees.
func TestEvalSharedTrees(t *testing.T) {
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	dir := filepath.Join(data, "trees")
	for _, method := range []string{"auto", "classical"} {
		t.Run(method, func(t *testing.T) {
			out, errOut, code := run(t, "eval", "--json", "--method", method, "--boxes", filepath.Join(dir, "boxes.csv"), dir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rep evalOut
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("JSON: %v\n%s", err, out)
			}
			if len(rep.Images) != 3 || rep.Overall.True != 107 || rep.IoU != 0.4 {
				t.Errorf("%d images, %d true trees, IoU %v; want 3, 107, 0.4", len(rep.Images), rep.Overall.True, rep.IoU)
			}
			if rep.Method == "" || (rep.Method == "learned" && len(rep.ModelSHA256) != 64) {
				t.Errorf("method %q model %q sha %q not recorded", rep.Method, rep.Model, rep.ModelSHA256)
			}
			if method == "classical" && rep.Method != "classical" {
				t.Errorf("method %q, want classical", rep.Method)
			}
			for _, s := range rep.Images {
				if s.Predicted < 0 || s.F1 < 0 || s.F1 > 1 || s.Matched > s.Predicted || s.Matched > s.True {
					t.Errorf("implausible score %+v", s)
				}
			}
			t.Logf("%s: P %.3f R %.3f F1 %.3f, median count error %.1f%%", rep.Method,
				rep.Overall.Precision, rep.Overall.Recall, rep.Overall.F1, 100*rep.MedianRelError)
		})
	}
}

// TestUnreadableImage: the bad file is named, the others still counted, and
// the exit status is non-zero.
func TestUnreadableImage(t *testing.T) {
	binary(t) // skips without CANOPY_BIN
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.SetRGBA(10, 10, color.RGBA{0, 255, 0, 255})
	f, _ := os.Create(filepath.Join(dir, "good.png"))
	png.Encode(f, img)
	f.Close()
	os.WriteFile(filepath.Join(dir, "bad.png"), []byte("not a png"), 0o644)
	os.WriteFile(filepath.Join(dir, "boxes.csv"), []byte("image,xmin,ymin,xmax,ymax,label\ngood.png,1,1,20,20,Tree\nbad.png,1,1,20,20,Tree\nmissing.png,1,1,2,2,Tree\n"), 0o644)

	out, errOut, code := run(t, "eval", "--json", "--method", "classical", dir)
	if code == 0 {
		t.Errorf("eval exit 0 with unreadable images")
	}
	if !strings.Contains(errOut, "bad.png") || !strings.Contains(errOut, "missing.png") {
		t.Errorf("stderr does not name the bad files: %s", errOut)
	}
	var rep evalOut
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if len(rep.Images) != 1 || rep.Images[0].Image != "good.png" || len(rep.Errors) != 2 {
		t.Errorf("images %+v errors %v, want good.png scored and 2 errors", rep.Images, rep.Errors)
	}

	// an image with no rows in the boxes file is scored as having no trees
	os.Remove(filepath.Join(dir, "bad.png"))
	f, _ = os.Create(filepath.Join(dir, "unlabelled.png"))
	png.Encode(f, img)
	f.Close()
	os.WriteFile(filepath.Join(dir, "boxes.csv"), []byte("image,xmin,ymin,xmax,ymax,label\ngood.png,1,1,20,20,Tree\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	out, errOut, code = run(t, "eval", "--json", "--method", "classical", dir)
	rep = evalOut{}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("eval with an unlabelled image: exit %d, %v: %s", code, err, errOut)
	}
	if len(rep.Images) != 2 || rep.Images[1].Image != "unlabelled.png" || rep.Images[1].True != 0 || rep.Overall.True != 1 {
		t.Errorf("images %+v, want good.png and unlabelled.png (0 trees)", rep.Images)
	}
	os.WriteFile(filepath.Join(dir, "bad.png"), []byte("not a png"), 0o644)

	out, errOut, code = run(t, "count", "--json", "--method", "classical", filepath.Join(dir, "good.png"), filepath.Join(dir, "bad.png"))
	if code == 0 || !strings.Contains(errOut, "bad.png") {
		t.Errorf("count: exit %d, stderr %q; want non-zero naming bad.png", code, errOut)
	}
	var outs []struct {
		Image string `json:"image"`
		count.Result
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &outs); err != nil || len(outs) != 2 || outs[0].Error != "" || outs[1].Error == "" {
		t.Errorf("count JSON %s (err %v): want the good image counted and the bad one with an error", out, err)
	}
}
