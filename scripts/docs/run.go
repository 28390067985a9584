package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runner runs the shell blocks marked run (and shared-data, where
// ../shared/data is) of Markdown files. Each file gets a folder of its own
// that looks like the repository's root (its top-level entries linked, bin/
// the built binaries, demo-data/ a fresh copy of what scripts/demo.sh left
// on synthetic frames), and ../shared/data beside it when there is one.
// The file's blocks run in order in one bash session (set -euo pipefail),
// as if pasted into one terminal; what they left running is stopped after
// the last one.
type runner struct {
	root    string        // the repository
	bin     string        // the folder of canopy-agent and canopy-cloud
	shared  string        // ../shared/data, "" when absent
	timeout time.Duration // for one file's blocks
	verbose bool          // print every file's output
	out     io.Writer
}

// tally counts blocks by class; ran counts those run.
type tally struct {
	byClass map[string]int
	ran     int
	files   int
}

// skipped are the top-level entries of the repository that a run folder
// does not link: what a run writes or makes (bin/ is linked to r.bin).
var skipped = map[string]bool{".git": true, "bin": true, "demo-data": true, "dist": true, "canopy-data": true}

func (r *runner) run(ctx context.Context, names []string) (tally, error) {
	t := tally{byClass: map[string]int{}}
	l := &loader{root: r.root, docs: map[string]doc{}}
	var todo []doc
	for _, name := range names {
		d, err := l.load(name)
		if err != nil {
			return t, err
		}
		n := 0
		for _, b := range d.blocks {
			if b.shell() {
				t.byClass[b.class]++
			}
			if r.runs(b) {
				n++
			}
		}
		if n > 0 {
			todo = append(todo, d)
		}
	}
	if len(todo) == 0 {
		return t, nil
	}
	tmp, err := os.MkdirTemp("", "canopy-docs-")
	if err != nil {
		return t, err
	}
	defer os.RemoveAll(tmp)

	// The demo's data, made once: scripts/demo.sh on synthetic frames.
	demo := filepath.Join(tmp, "demo")
	if err := r.mkroot(demo); err != nil {
		return t, err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "bash", "scripts/demo.sh")
	cmd.Dir = filepath.Join(demo, "canopy")
	cmd.Env = append(os.Environ(), "CANOPY_SHARED_DATA="+filepath.Join(tmp, "none"), "CANOPY_BIN="+r.bin, "DEMO_SOURCE=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return t, fmt.Errorf("scripts/demo.sh (the docs' data): %v\n%s", err, out)
	}
	fmt.Fprintf(r.out, "docs: demo data made in %.1fs\n", time.Since(start).Seconds())

	for i, d := range todo {
		dir := filepath.Join(tmp, fmt.Sprintf("f%02d", i))
		if err := r.mkroot(dir); err != nil {
			return t, err
		}
		root := filepath.Join(dir, "canopy")
		if out, err := exec.Command("cp", "-a", filepath.Join(demo, "canopy", "demo-data"), root).CombinedOutput(); err != nil {
			return t, fmt.Errorf("copy demo-data: %v: %s", err, out)
		}
		n, err := r.runFile(ctx, d, root)
		t.ran += n
		t.files++
		if err != nil {
			return t, err
		}
	}
	return t, nil
}

// runs reports whether a block is run here.
func (r *runner) runs(b block) bool {
	return b.shell() && (b.class == classRun || b.class == classSharedData && r.shared != "")
}

// mkroot makes dir/canopy, a stand-in for the repository's root, and
// dir/shared/data when there is shared data.
func (r *runner) mkroot(dir string) error {
	root := filepath.Join(dir, "canopy")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(r.root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if skipped[e.Name()] {
			continue
		}
		if err := os.Symlink(filepath.Join(r.root, e.Name()), filepath.Join(root, e.Name())); err != nil {
			return err
		}
	}
	if err := os.Symlink(r.bin, filepath.Join(root, "bin")); err != nil {
		return err
	}
	if r.shared == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "shared"), 0o755); err != nil {
		return err
	}
	return os.Symlink(r.shared, filepath.Join(dir, "shared", "data"))
}

var loopbackRE = regexp.MustCompile(`127\.0\.0\.1:(\d{2,5})\b`)

// script is the bash script of a file's blocks: each writes its number to
// $DOCS_BLOCK before it starts. Every 127.0.0.1:PORT is replaced by a free
// port (the same PORT by the same one throughout the file), so that runs
// side by side and services already on the machine do not collide.
func (r *runner) script(d doc) (string, []block, error) {
	ports := map[string]string{}
	var err error
	var s strings.Builder
	s.WriteString("set -euo pipefail\n")
	var run []block
	for _, b := range d.blocks {
		if !r.runs(b) {
			continue
		}
		run = append(run, b)
		text := loopbackRE.ReplaceAllStringFunc(b.text, func(m string) string {
			p := loopbackRE.FindStringSubmatch(m)[1]
			if _, ok := ports[p]; !ok {
				var free int
				free, err = freePort()
				ports[p] = strconv.Itoa(free)
			}
			return "127.0.0.1:" + ports[p]
		})
		fmt.Fprintf(&s, "echo %d >\"$DOCS_BLOCK\"\n%s", len(run), text)
	}
	s.WriteString("echo done >\"$DOCS_BLOCK\"\n")
	return s.String(), run, err
}

// runFile runs one file's blocks in root and says which one failed.
func (r *runner) runFile(ctx context.Context, d doc, root string) (int, error) {
	script, run, err := r.script(d)
	if err != nil {
		return 0, err
	}
	state, logPath := filepath.Join(root, "..", "block"), filepath.Join(root, "..", "output.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DOCS_BLOCK="+state)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Run()
	if cmd.Process != nil {
		stopGroup(cmd.Process.Pid)
	}
	if r.verbose {
		if b, err := os.ReadFile(logPath); err == nil {
			fmt.Fprintf(r.out, "--- %s\n%s", d.path, b)
		}
	}
	if runErr == nil {
		fmt.Fprintf(r.out, "docs: %s: %d blocks ran in %.1fs\n", d.path, len(run), time.Since(start).Seconds())
		return len(run), nil
	}
	at, _ := os.ReadFile(state)
	n, _ := strconv.Atoi(strings.TrimSpace(string(at)))
	why := runErr.Error()
	if ctx.Err() != nil {
		why = fmt.Sprintf("still running after %s", r.timeout)
	}
	if n < 1 || n > len(run) {
		return 0, fmt.Errorf("%s: %s (before its first block)", d.path, why)
	}
	b := run[n-1]
	out, _ := os.ReadFile(logPath)
	return n - 1, fmt.Errorf("%s:%d: block %d of %d: %s\n--- the block:\n%s--- its output (the file's, last 40 lines):\n%s",
		d.path, b.line, n, len(run), why, b.text, tail(string(out), 40))
}

// stopGroup stops what a file's blocks left running (a serve started with
// &): SIGTERM to the process group, SIGKILL after 10 s.
func stopGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return
	}
	for range 100 {
		if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
