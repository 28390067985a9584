package auto

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/count/classical"
	"github.com/canopy-forest/canopy/cloud/count/learned"
)

// Methods are the values Config.Method takes.
const (
	Auto      = "auto"
	Learned   = "learned"
	Classical = "classical"
)

// ModelFile is the default detector's file name.
const ModelFile = "crown-detector.onnx"

// Config chooses and configures a counter.
type Config struct {
	Method      string  // "auto" (or ""), "learned" or "classical"
	ModelPath   string  // the ONNX detector; "" = FindModel()
	LibraryPath string  // libonnxruntime.so.1; "" = ortenv.DefaultLibrary()
	Provider    string  // ONNX Runtime execution provider: "cpu" (default), "cuda", "tensorrt"
	Threads     int     // ONNX Runtime intra-op threads; 0 = its default
	GSD         float64 // metres per pixel of the images; 0 = 0.1 (NEON orthophotos)
	Threshold   float64 // learned: score threshold; 0 = the model's
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Method {
	case "", Auto, Learned, Classical:
	default:
		errs = append(errs, fmt.Errorf("unknown counting method %q (want auto, learned or classical)", c.Method))
	}
	if c.GSD < 0 || c.GSD > 100 {
		errs = append(errs, fmt.Errorf("gsd %v m out of range", c.GSD))
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		errs = append(errs, fmt.Errorf("threshold %v not in [0, 1]", c.Threshold))
	}
	return errors.Join(errs...)
}

// New returns the counter c asks for. With method auto it is the learned
// one when a model is found and loads, and the classical one otherwise (the
// reason is logged at Warn).
func New(c Config, log *slog.Logger) (count.Counter, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("counter config: %w", err)
	}
	switch c.Method {
	case Classical:
		return newClassical(c)
	case Learned:
		path := c.ModelPath
		if path == "" {
			path = FindModel()
		}
		if path == "" {
			return nil, fmt.Errorf("learned counter: no %s found (looked in %v)", ModelFile, ModelDirs())
		}
		return newLearned(c, path, log)
	}
	path := c.ModelPath
	if path == "" {
		path = FindModel()
	}
	if path != "" {
		k, err := newLearned(c, path, log)
		if err == nil {
			return k, nil
		}
		if c.ModelPath != "" {
			return nil, err // a model named explicitly must load
		}
		log.Warn("learned counter unavailable; using the classical one", "err", err)
	} else {
		log.Info("no crown detector model found; using the classical counter", "looked_in", ModelDirs())
	}
	return newClassical(c)
}

func newLearned(c Config, path string, log *slog.Logger) (count.Counter, error) {
	k, err := learned.New(learned.Config{
		ModelPath: path, LibraryPath: c.LibraryPath, Provider: c.Provider, Threads: c.Threads,
		GSD: c.GSD, Threshold: c.Threshold,
	}, log)
	if err != nil {
		return nil, err
	}
	return k, nil
}

func newClassical(c Config) (count.Counter, error) {
	k, err := classical.New(classical.Options{GSD: c.GSD})
	if err != nil {
		return nil, fmt.Errorf("classical counter: %w", err)
	}
	return k, nil
}

// ModelDirs are the folders FindModel looks in, in order: beside the
// executable, its models/ folder, ../share/canopy/models and ../models
// beside it (an installed package; a source checkout's bin/), and ./models
// under the working directory.
func ModelDirs() []string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		d := filepath.Dir(exe)
		dirs = append(dirs, d, filepath.Join(d, "models"), filepath.Join(d, "..", "share", "canopy", "models"),
			filepath.Join(d, "..", "models"))
	}
	return append(dirs, "models")
}

// FindModel returns the first ModelFile in ModelDirs, or "".
func FindModel() string {
	for _, d := range ModelDirs() {
		p := filepath.Join(d, ModelFile)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
