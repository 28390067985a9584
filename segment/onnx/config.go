package onnx

// Name is the segmenter's name in segment.Info.
const Name = "onnx"

// ClassZero in Config.ForestClass selects class 0 (the zero value of
// ForestClass means "from the model's metadata, else 1").
const ClassZero = -1

// Config configures the ONNX segmenter. Zero values are filled from the
// model's custom metadata (canopy.* keys, see the package doc), then from
// the defaults.
type Config struct {
	ModelPath   string // required
	LibraryPath string // ONNX Runtime library; "" = ortenv.DefaultLibrary()
	Provider    string // "cpu" (default), "cuda" or "tensorrt"
	Threads     int    // intra-op threads; 0 = ONNX Runtime's default
	Memory      string // "fast" (default) or "lean": ortenv.SetMemory

	InputWidth, InputHeight int        // model input size; 0 = metadata or the model's fixed size
	Layout                  string     // "nchw", "nhwc" or "" (from metadata or the input shape)
	Mean, Std               [3]float32 // per channel, on 0..1 pixel values; zero = metadata or 0 / 1
	Channels                string     // "rgb" (default) or "bgr"
	ForestClass             int        // class index in a score output; 0 = metadata or 1; ClassZero for 0
	Threshold               float32    // forest probability threshold; 0 = metadata, else argmax / 0.5
	Output                  string     // one-channel output: "probability" (default) or "logit"
}
