package ortenv

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
)

// LibraryName is the file name of the ONNX Runtime shared library.
const LibraryName = "libonnxruntime.so.1"

// EnvLibrary is the environment variable that names the library's path.
const EnvLibrary = "CANOPY_ORT_LIB"

// ErrNoONNX is returned by Init in a build without the onnx tag.
var ErrNoONNX = errors.New("built without ONNX Runtime support (build tag onnx)")

// DefaultLibrary returns the first of these that exists: $CANOPY_ORT_LIB,
// libonnxruntime.so.1 beside the executable, ../lib/libonnxruntime.so.1
// and ../lib/<executable's name>/libonnxruntime.so.1 beside it (an
// installed package: /usr/lib/canopy-cloud), /usr/lib/canopy/libonnxruntime.so.1 and
// .cache/onnxruntime/linux-$GOARCH/libonnxruntime.so.1 under the working
// directory. It returns LibraryName (left to the dynamic loader's search)
// when none exists.
func DefaultLibrary() string {
	for _, p := range candidates() {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return LibraryName
}

func candidates() []string {
	c := []string{os.Getenv(EnvLibrary)}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		c = append(c, filepath.Join(dir, LibraryName), filepath.Join(dir, "..", "lib", LibraryName),
			filepath.Join(dir, "..", "lib", filepath.Base(exe), LibraryName))
	}
	c = append(c, filepath.Join("/usr/lib/canopy", LibraryName))
	if wd, err := os.Getwd(); err == nil {
		c = append(c, filepath.Join(wd, ".cache", "onnxruntime", "linux-"+runtime.GOARCH, LibraryName))
	}
	return c
}
