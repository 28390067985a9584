package cli_test

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/cli/clitest"
)

// stdout runs f and returns what it printed on os.Stdout.
func stdout(t *testing.T, f func()) string {
	t.Helper()
	return clitest.CaptureStdout(t, func() error { f(); return nil })
}

// tree is a binary with a leaf, a group and a group in a group; each leaf
// records its arguments in ran.
func tree(ran *[]string) *cli.Command {
	leaf := func(name string) cli.Command {
		return cli.Command{Name: name, Summary: "the " + name + " leaf", Run: func(args []string) error {
			fs := flag.NewFlagSet(name, flag.ContinueOnError)
			cli.SetUsage(fs, "usage: bin ... "+name+" [--n N]")
			fs.Int("n", 0, "a number")
			if help, err := cli.ParseArgs(fs, args); help || err != nil {
				return err
			}
			*ran = append(*ran, name+" "+strings.Join(args, " "))
			return nil
		}}
	}
	return &cli.Command{Name: "bin", Sub: []cli.Command{
		leaf("run"),
		{Name: "dev", Summary: "devices", Usage: "usage: bin dev add|list", Sub: []cli.Command{
			leaf("add"),
			{Name: "keys", Summary: "keys", Sub: []cli.Command{leaf("rotate")}},
		}},
	}}
}

func TestExec(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		ran      string   // what a leaf ran with ("": nothing ran)
		stdout   []string // substrings of standard output
		errParts []string // substrings of the error (nil: none)
	}{
		{args: []string{"run", "--n", "3"}, ran: "run --n 3"},
		{args: []string{"dev", "keys", "rotate"}, ran: "rotate "},
		{args: []string{"help"}, stdout: []string{"usage: bin COMMAND [flags]", "  run  the run leaf", "  dev  devices", "bin help COMMAND"}},
		{args: []string{"--help"}, stdout: []string{"usage: bin COMMAND"}},
		{args: []string{"-h"}, stdout: []string{"usage: bin COMMAND"}},
		{args: []string{"help", "run"}, stdout: []string{"usage: bin ... run [--n N]", "-n int"}},
		{args: []string{"run", "-h"}, stdout: []string{"usage: bin ... run"}},
		{args: []string{"dev", "help"}, stdout: []string{"usage: bin dev add|list", "  add ", "bin dev help COMMAND"}},
		{args: []string{"dev", "--help"}, stdout: []string{"usage: bin dev add|list"}},
		{args: []string{"help", "dev"}, stdout: []string{"usage: bin dev add|list"}},
		{args: []string{"help", "dev", "add"}, stdout: []string{"usage: bin ... add"}},
		{args: []string{"dev", "help", "add"}, stdout: []string{"usage: bin ... add"}},
		{args: []string{"dev", "keys", "help"}, stdout: []string{"usage: bin dev keys COMMAND [flags]", "rotate"}},
		{args: []string{"dev", "keys", "help", "rotate"}, stdout: []string{"usage: bin ... rotate"}},
		{args: []string{"dev"}, errParts: []string{"usage: bin dev add|list", "commands:"}},
		{args: []string{"dev", "frob"}, errParts: []string{`unknown dev command "frob"`, "usage: bin dev"}},
		{args: []string{"help", "frob"}, errParts: []string{`unknown bin command "frob"`}},
		{args: []string{"dev", "help", "frob"}, errParts: []string{`unknown dev command "frob"`}},
		{args: []string{"run", "extra"}, errParts: []string{`unexpected arguments ["extra"]`}},
		{args: []string{"run", "--m"}, errParts: []string{"flag provided but not defined: -m"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var ran []string
			var err error
			out := stdout(t, func() { err = tree(&ran).Exec(tt.args) })
			if tt.ran != "" && (len(ran) != 1 || ran[0] != tt.ran) {
				t.Errorf("ran %q, want %q", ran, tt.ran)
			}
			if tt.ran == "" && len(ran) > 0 {
				t.Errorf("ran %q, want nothing run", ran)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout %q, want %q in it", out, s)
				}
			}
			if tt.errParts == nil && err != nil {
				t.Errorf("error %v, want none", err)
			}
			if tt.errParts != nil {
				if err == nil {
					t.Fatalf("no error, want one with %q", tt.errParts)
				}
				if out != "" {
					t.Errorf("stdout %q on an error, want nothing", out)
				}
			}
			for _, s := range tt.errParts {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q, want %q in it", err, s)
				}
			}
		})
	}
}

// A bad flag goes to the flag set's output with the usage; help goes to
// standard output only.
func TestParseOutput(t *testing.T) {
	for _, tt := range []struct {
		args       []string
		help, fail bool
		stdout     string
		errOut     string
	}{
		{args: []string{"-h"}, help: true, stdout: "usage: x"},
		{args: []string{"--help"}, help: true, stdout: "usage: x"},
		{args: []string{"-help"}, help: true, stdout: "usage: x"},
		{args: []string{"--bad"}, fail: true, errOut: "flag provided but not defined: -bad\nusage: x"},
		{args: []string{"--n", "2"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			var errOut bytes.Buffer
			fs.SetOutput(&errOut)
			cli.SetUsage(fs, "usage: x [--n N]")
			fs.Int("n", 0, "a number")
			var help bool
			var err error
			out := stdout(t, func() { help, err = cli.Parse(fs, tt.args) })
			if help != tt.help || (err != nil) != tt.fail {
				t.Errorf("cli.Parse(%q) = %v, %v; want help %v, failure %v", tt.args, help, err, tt.help, tt.fail)
			}
			if tt.stdout == "" && out != "" || !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q, want %q", out, tt.stdout)
			}
			if tt.errOut == "" && errOut.Len() > 0 || !strings.Contains(errOut.String(), tt.errOut) {
				t.Errorf("flag set output %q, want %q", errOut.String(), tt.errOut)
			}
			if fs.Output() != &errOut {
				t.Error("Parse changed the flag set's output")
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	n := fs.Int("n", 0, "a number")
	pos, help, err := cli.ParseInterspersed(fs, []string{"a", "--n", "2", "b"})
	if err != nil || help || *n != 2 || strings.Join(pos, ",") != "a,b" {
		t.Errorf("ParseInterspersed = %q, %v, %v (n %d); want [a b], n 2", pos, help, err, *n)
	}
	var errOut bytes.Buffer
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(&errOut)
	var out string
	out = stdout(t, func() { pos, help, err = cli.ParseInterspersed(fs, []string{"a", "-h"}) })
	if !help || err != nil || !strings.Contains(out, "Usage of x") || errOut.Len() > 0 {
		t.Errorf("cli.ParseInterspersed(a -h) = %q, %v, %v, stdout %q, stderr %q; want the usage on stdout", pos, help, err, out, errOut.String())
	}
}
