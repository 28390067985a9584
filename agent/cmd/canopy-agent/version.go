package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/canopy-forest/canopy/boards"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/ortenv"
	"github.com/canopy-forest/canopy/internal/version"
)

// versionInfo is what `canopy-agent version` prints.
type versionInfo struct {
	Version     string `json:"version"`
	Commit      string `json:"commit"`
	Go          string `json:"go"`
	OpenCV      string `json:"opencv"`
	ONNXRuntime string `json:"onnxruntime"`
	ORTLibrary  string `json:"onnxruntime_library,omitempty"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Board       string `json:"board"`
}

func cmdVersion(args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime library (default: $CANOPY_ORT_LIB, beside the binary, /usr/lib/canopy)")
	cli.SetUsage(fs, "usage: canopy-agent version [--json] [--ort-lib FILE]\n\n"+
		"Prints the version, the commit, the versions of Go, OpenCV and ONNX Runtime, the platform and the board detected. Flags:")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	v := versionInfo{
		Version: version.Version,
		Commit:  version.Commit,
		Go:      runtime.Version(),
		OpenCV:  opencvVersion(),
		OS:      runtime.GOOS,
		Arch:    runtime.GOARCH,
		Board:   "none detected",
	}
	v.ONNXRuntime, v.ORTLibrary = ortVersion(*ortLib)
	if p, ok := boards.Detect(); ok {
		v.Board = p.Name
	}
	if *asJSON {
		return cli.PrintJSON(os.Stdout, v)
	}
	ort := v.ONNXRuntime
	if v.ORTLibrary != "" {
		ort += " (" + v.ORTLibrary + ")"
	}
	fmt.Printf("canopy-agent %s (commit %s)\n", v.Version, v.Commit)
	fmt.Printf("  go           %s\n", v.Go)
	fmt.Printf("  opencv       %s\n", v.OpenCV)
	fmt.Printf("  onnxruntime  %s\n", ort)
	fmt.Printf("  platform     %s/%s\n", v.OS, v.Arch)
	fmt.Printf("  board        %s\n", v.Board)
	return nil
}

// ortVersion loads ONNX Runtime and returns its version and the library it
// loaded, or "unavailable: <reason>".
func ortVersion(lib string) (string, string) {
	if lib == "" {
		lib = ortenv.DefaultLibrary()
	}
	if err := ortenv.Init(lib); err != nil {
		return "unavailable: " + err.Error(), ""
	}
	return ortenv.Version(), lib
}
