package countcmd

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/internal/cli"
)

type evalOut struct {
	count.Report
	Errors []string `json:"errors,omitempty"`
}

// Eval is canopy-cloud eval.
var Eval = cli.Command{Name: "eval", Summary: "score the counter against ground-truth boxes", Run: cmdEval}

func cmdEval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	var cf counterFlags
	cf.register(fs)
	boxesFile := fs.String("boxes", "", "ground-truth boxes, CSV image,xmin,ymin,xmax,ymax,label (default DIR/boxes.csv)")
	asJSON := fs.Bool("json", false, "print JSON")
	iou := fs.Float64("iou", count.DefaultIoU, "IoU at which a found box matches a true one")
	annotate := fs.String("annotate", "", "write each image with its boxes drawn into this folder")
	cli.SetUsage(fs, "usage: canopy-cloud eval --boxes FILE [flags] DIR\n"+
		"Scores every image in DIR (.png, .jpg, .jpeg, .tif, .tiff) and every image the boxes file names;\n"+
		"an image with no rows in the boxes file has no trees, so whatever is found there is a false positive.")
	if help, err := cli.Parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want one image folder")
	}
	if *iou <= 0 || *iou > 1 {
		return fmt.Errorf("--iou %v not in (0, 1]", *iou)
	}
	dir := fs.Arg(0)
	if *boxesFile == "" {
		*boxesFile = filepath.Join(dir, "boxes.csv")
	}
	f, err := os.Open(*boxesFile)
	if err != nil {
		return err
	}
	truth, err := count.ReadBoxes(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", *boxesFile, err)
	}
	names, err := evalImages(dir, truth)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no images in %s and no boxes in %s", dir, *boxesFile)
	}

	ctx, c, stop, err := cf.start()
	if err != nil {
		return err
	}
	defer stop()
	var scores []count.Score
	var errs []string
	for _, name := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res, err := countFile(ctx, c, filepath.Join(dir, name), *annotate)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			fmt.Fprintf(os.Stderr, "canopy-cloud eval: %s: %v\n", name, err)
			continue
		}
		scores = append(scores, count.ScoreImage(name, res.Boxes, truth[name], *iou))
	}
	rep := count.Summarise(*iou, scores)
	rep.Info = c.Info()
	if *asJSON {
		if err := cli.PrintJSON(os.Stdout, evalOut{Report: rep, Errors: errs}); err != nil {
			return err
		}
	} else {
		printReport(rep)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d images failed", len(errs), len(names))
	}
	return nil
}

// evalImages lists what eval scores, sorted: every image file in dir and
// every image that truth names (one named there but missing from dir is
// reported as an error when it is counted). An image with no rows in truth
// has no trees.
func evalImages(dir string, truth map[string][]count.Box) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(entries)+len(truth))
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg", ".tif", ".tiff":
			seen[e.Name()] = true
		}
	}
	for n := range truth {
		seen[n] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func printReport(r count.Report) {
	fmt.Printf("method %s%s, IoU %.2f\n", r.Method, modelNote(r.Info), r.IoU)
	fmt.Printf("%-50s %5s %5s %6s %7s %6s %6s %6s\n", "image", "true", "found", "error", "rel", "prec", "recall", "F1")
	row := func(name string, s count.Score) {
		fmt.Printf("%-50s %5d %5d %+6d %6.1f%% %6.3f %6.3f %6.3f\n", name, s.True, s.Predicted, s.CountError, 100*s.RelError, s.Precision, s.Recall, s.F1)
	}
	for _, s := range r.Images {
		row(s.Image, s)
	}
	row("overall", r.Overall)
	fmt.Printf("per-image count error: median %.1f%%, mean %.1f%% (images with trees); mean absolute %.2f trees per image\n",
		100*r.MedianRelError, 100*r.MeanRelError, r.MeanAbsError)
	fmt.Printf("total count error: %+d (%.1f%%)\n", r.Overall.CountError, 100*r.Overall.RelError)
}
