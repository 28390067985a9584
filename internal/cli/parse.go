package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/canopy-forest/canopy/internal/flagfile"
)

// Parse parses args into fs (fs.Parse). Asked for help (-h, -help,
// --help), it prints fs's usage on standard output and returns help true:
// the command should do nothing more and succeed. A bad flag is printed
// with the usage on fs's output (standard error), as flag does, and
// returned.
func Parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	return parse(fs, func() error { return fs.Parse(args) })
}

// ParseArgs is Parse for a command that takes nothing but flags: an
// argument left over is an error.
func ParseArgs(fs *flag.FlagSet, args []string) (help bool, err error) {
	if help, err := Parse(fs, args); help || err != nil {
		return help, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return false, nil
}

// ParseInterspersed is Parse for a command whose arguments may stand
// before, between or after its flags (cmd ID --data DIR): it returns the
// arguments, in order (flagfile.Parse).
func ParseInterspersed(fs *flag.FlagSet, args []string) (pos []string, help bool, err error) {
	help, err = parse(fs, func() (err error) {
		pos, err = flagfile.Parse(fs, args)
		return err
	})
	return pos, help, err
}

// parse runs parse (which parses fs) with fs's output held back, and then
// sends that output to standard output when help was asked for, else to
// where fs's output goes.
func parse(fs *flag.FlagSet, parse func() error) (bool, error) {
	out := fs.Output()
	var held bytes.Buffer
	fs.SetOutput(&held)
	err := parse()
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		if _, werr := os.Stdout.Write(held.Bytes()); werr != nil {
			return true, werr
		}
		return true, nil
	}
	if _, werr := out.Write(held.Bytes()); werr != nil && err == nil {
		err = werr
	}
	return false, err
}

// SetUsage makes fs's usage text (a "usage: ..." line and, when it helps,
// lines on what the command does) followed by fs's flags.
func SetUsage(fs *flag.FlagSet, text string) {
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), text)
		fs.PrintDefaults()
	}
}
