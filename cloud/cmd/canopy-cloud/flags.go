package main

import (
	"errors"
	"flag"
	"fmt"
)

// parseArgs parses the flags of a command that takes no other arguments.
// help is true when -h was given: the usage is printed and the command
// should do nothing more.
func parseArgs(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return false, nil
}
