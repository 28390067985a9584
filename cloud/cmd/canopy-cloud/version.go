package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/version"
)

// versionInfo is what `canopy-cloud version` prints.
type versionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
	OpenCV  string `json:"opencv"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

func cmdVersion(args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-cloud version [--json]\n\nPrints the version, the commit, and the versions of Go and OpenCV it was built with. Flags:")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	v := versionInfo{Version: version.Version, Commit: version.Commit, Go: runtime.Version(),
		OpenCV: cloudOpenCVVersion(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if *asJSON {
		return cli.PrintJSON(os.Stdout, v)
	}
	fmt.Printf("canopy-cloud %s (commit %s)\n", v.Version, v.Commit)
	fmt.Printf("  go        %s\n", v.Go)
	fmt.Printf("  opencv    %s\n", v.OpenCV)
	fmt.Printf("  platform  %s/%s\n", v.OS, v.Arch)
	return nil
}
