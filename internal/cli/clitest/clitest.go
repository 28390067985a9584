// Package clitest is what the tests of commands share: Help checks a built
// binary against its command tree (every command answers -h, --help and
// help with its usage, an unknown command fails with a message that names
// it), and CaptureStdout takes what a command run in the test prints.
package clitest

import (
	"slices"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

// request is one way of asking a binary for a command's usage.
type request struct {
	Path []string // the command, from the binary's name on
	Args []string // the binary's arguments
}

// requests lists, for root and every command below it, the three ways of
// asking for its usage: PATH -h, PATH --help, and help where a
// sub-command's name is expected (PATH help for a group, PARENT help NAME
// for a leaf).
func requests(root *cli.Command) []request {
	var out []request
	walk(root, []string{root.Name}, func(c *cli.Command, path []string) {
		args := path[1:]
		out = append(out, request{path, slices.Concat(args, []string{"-h"})}, request{path, slices.Concat(args, []string{"--help"})})
		if c.Sub != nil {
			out = append(out, request{path, slices.Concat(args, []string{"help"})})
		} else {
			out = append(out, request{path, slices.Concat(args[:len(args)-1], []string{"help", c.Name})})
		}
	})
	return out
}

func walk(c *cli.Command, path []string, fn func(*cli.Command, []string)) {
	fn(c, path)
	for i := range c.Sub {
		walk(&c.Sub[i], slices.Concat(path, []string{c.Sub[i].Name}), fn)
	}
}

// isUsage reports whether out, what a binary printed, is the usage of the
// command at path: a line that starts with "usage:" and names the command,
// on that line or the next.
func isUsage(out string, path []string) bool {
	p := strings.Join(path, " ")
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "usage:") && (names(l, p) || i+1 < len(lines) && names(lines[i+1], p)) {
			return true
		}
	}
	return false
}

// names reports whether line names the command p: p followed by the end
// of the line or a space.
func names(line, p string) bool {
	i := strings.Index(line, p)
	return i >= 0 && (len(line) == i+len(p) || line[i+len(p)] == ' ')
}

// Help runs bin, the built binary of root, with every request: each must
// exit 0 with the command's usage on standard output. Then, for root and
// every group, with a command name that is not there: each must fail and
// say so on standard error.
func Help(t *testing.T, bin string, root *cli.Command) {
	for _, r := range requests(root) {
		t.Run(strings.Join(r.Args, " "), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := e2etest.Run(t, bin, r.Args...)
			if code != 0 {
				t.Errorf("%s %s: exit status %d, want 0; stderr:\n%s", root.Name, strings.Join(r.Args, " "), code, stderr)
			}
			if !isUsage(stdout, r.Path) {
				t.Errorf("%s %s: stdout %q, want the usage of %s", root.Name, strings.Join(r.Args, " "), stdout, strings.Join(r.Path, " "))
			}
		})
	}
	walk(root, []string{root.Name}, func(c *cli.Command, path []string) {
		if c.Sub == nil {
			return
		}
		args := slices.Concat(path[1:], []string{"no-such-command"})
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := e2etest.Run(t, bin, args...)
			if code == 0 || !strings.Contains(stderr, `unknown`) || !strings.Contains(stderr, `"no-such-command"`) {
				t.Errorf("%s %s: exit status %d, stderr %q; want a failure that names the unknown command", root.Name, strings.Join(args, " "), code, stderr)
			}
			if stdout != "" {
				t.Errorf("%s %s: stdout %q, want nothing", root.Name, strings.Join(args, " "), stdout)
			}
		})
	})
}
