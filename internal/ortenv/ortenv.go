//go:build onnx

package ortenv

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

var (
	mu      sync.Mutex
	inited  bool
	libUsed string
)

// Init loads the ONNX Runtime shared library at libPath ("" means
// DefaultLibrary()) and initialises the environment. Later calls do nothing
// and return nil, whatever libPath they name, once one has succeeded.
func Init(libPath string) error {
	mu.Lock()
	defer mu.Unlock()
	if inited || ort.IsInitialized() {
		inited = true
		return nil
	}
	if libPath == "" {
		libPath = DefaultLibrary()
	}
	ort.SetSharedLibraryPath(libPath)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("initialise ONNX Runtime from %q: %w", libPath, err)
	}
	inited, libUsed = true, libPath
	return nil
}

// Library returns the path Init loaded ("" before Init).
func Library() string {
	mu.Lock()
	defer mu.Unlock()
	return libUsed
}

// Version returns ONNX Runtime's version string, or "" before Init.
func Version() string {
	mu.Lock()
	ok := inited
	mu.Unlock()
	if !ok {
		return ""
	}
	return ort.GetVersion()
}

// Providers are the execution providers SessionOptions knows.
var Providers = []string{"cpu", "cuda", "tensorrt"}

// SessionOptions returns session options for provider ("cpu", "" meaning
// cpu, "cuda" or "tensorrt") with threads intra-op threads (0 leaves ONNX
// Runtime's default). A provider other than cpu that cannot be loaded falls
// back to the CPU with a warning on log. An unknown provider is an error.
// The caller destroys the options. SetMemory tunes them for memory.
func SessionOptions(provider string, threads int, log *slog.Logger) (*ort.SessionOptions, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	provider = strings.ToLower(strings.TrimSpace(provider))
	switch provider {
	case "", "cpu", "cuda", "tensorrt":
	default:
		return nil, fmt.Errorf("unknown execution provider %q (want cpu, cuda or tensorrt)", provider)
	}
	o, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("new session options: %w", err)
	}
	if threads > 0 {
		if err := o.SetIntraOpNumThreads(threads); err != nil {
			o.Destroy()
			return nil, fmt.Errorf("set intra-op threads %d: %w", threads, err)
		}
		if err := o.SetInterOpNumThreads(1); err != nil {
			o.Destroy()
			return nil, fmt.Errorf("set inter-op threads: %w", err)
		}
	}
	switch provider {
	case "cuda":
		if err := appendCUDA(o); err != nil {
			log.Warn("CUDA execution provider unavailable, using the CPU", "err", err)
		}
	case "tensorrt":
		if err := appendTensorRT(o); err != nil {
			log.Warn("TensorRT execution provider unavailable, using the CPU", "err", err)
		}
	}
	return o, nil
}

func appendCUDA(o *ort.SessionOptions) error {
	c, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("new CUDA provider options: %w", err)
	}
	defer c.Destroy()
	if err := o.AppendExecutionProviderCUDA(c); err != nil {
		return fmt.Errorf("append CUDA provider: %w", err)
	}
	return nil
}

func appendTensorRT(o *ort.SessionOptions) error {
	t, err := ort.NewTensorRTProviderOptions()
	if err != nil {
		return fmt.Errorf("new TensorRT provider options: %w", err)
	}
	defer t.Destroy()
	if err := o.AppendExecutionProviderTensorRT(t); err != nil {
		return fmt.Errorf("append TensorRT provider: %w", err)
	}
	return nil
}

// SetMemory applies a memory mode (MemoryFast, MemoryLean; "" is fast) to
// session options: both turn memory pattern planning off; lean also stops
// graph optimisations at "extended".
func SetMemory(o *ort.SessionOptions, mode string) error {
	if err := ValidMemory(mode); err != nil {
		return err
	}
	if err := o.SetMemPattern(false); err != nil {
		return fmt.Errorf("turn memory pattern off: %w", err)
	}
	if strings.ToLower(strings.TrimSpace(mode)) != MemoryLean {
		return nil
	}
	if err := o.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableExtended); err != nil {
		return fmt.Errorf("set graph optimisation level: %w", err)
	}
	return nil
}
