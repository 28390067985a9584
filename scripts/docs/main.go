// Command docs checks that the documentation holds: README.md,
// CONTRIBUTING.md and docs/*.md. make test runs both checks
// (scripts/test.d/docs.sh); CONTRIBUTING.md ("Docs that run") says how to
// mark a block.
//
//	go run ./scripts/docs check     every relative link and #anchor resolves; every shell block has a class
//	go run ./scripts/docs run       the blocks marked run (and shared-data, where ../shared/data is) exit 0
//
// run wants the built binaries (make build; --bin) and runs every block
// against the demo's data (scripts/demo.sh on synthetic frames, made once).
// It exits 1 at the first block that fails, naming its file and line.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	fs := flag.NewFlagSet("docs", flag.ContinueOnError)
	root := fs.String("root", ".", "the repository's `folder`")
	bin := fs.String("bin", "bin", "the `folder` of canopy-agent and canopy-cloud (run)")
	timeout := fs.Duration("timeout", 2*time.Minute, "at most this long for one file's blocks (run)")
	only := fs.String("only", "", "run only this `file`'s blocks, e.g. docs/api.md (run)")
	verbose := fs.Bool("v", false, "print the output of every file's blocks (run)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./scripts/docs check|run [flags]")
		fs.PrintDefaults()
	}
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fs.SetOutput(os.Stdout)
		fs.Usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd := os.Args[1]
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			fail(err)
		}
		return a
	}
	names, err := files(*root)
	if err != nil {
		fail(err)
	}
	switch cmd {
	case "check":
		problems, err := check(*root, names)
		if err != nil {
			fail(err)
		}
		if len(problems) > 0 {
			fail(fmt.Errorf("%d problems:\n%s", len(problems), strings.Join(problems, "\n")))
		}
		fmt.Printf("docs: %d files, links and block classes fine\n", len(names))
	case "run":
		if *only != "" {
			names = []string{*only}
		}
		r := &runner{root: abs(*root), bin: abs(*bin), timeout: *timeout, verbose: *verbose, out: os.Stdout}
		if s := sharedData(r.root); s != "" {
			r.shared = s
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		start := time.Now()
		t, err := r.run(ctx, names)
		if err != nil {
			fail(err)
		}
		shared := "run"
		if r.shared == "" {
			shared = "skipped: no ../shared/data"
		}
		fmt.Printf("docs: %d blocks ran in %d files in %.1fs; shell blocks by class: run %d, shared-data %d (%s), hardware %d, aws %d, manual %d\n",
			t.ran, t.files, time.Since(start).Seconds(), t.byClass[classRun], t.byClass[classSharedData], shared,
			t.byClass[classHardware], t.byClass[classAWS], t.byClass[classManual])
	default:
		fs.Usage()
		os.Exit(2)
	}
}

// sharedData is the sample data's folder: $CANOPY_SHARED_DATA, else
// ../shared/data beside the repository; "" when neither is there.
func sharedData(root string) string {
	for _, p := range []string{os.Getenv("CANOPY_SHARED_DATA"), filepath.Join(root, "..", "shared", "data")} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			a, err := filepath.Abs(p)
			if err == nil {
				return a
			}
		}
	}
	return ""
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "docs:", err)
	os.Exit(1)
}
