package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Command is one command of a binary: a leaf (Run) or a group (Sub).
type Command struct {
	Name    string
	Summary string // one line, in the list of its group's commands
	// Usage is what a group's usage says above the list of its commands:
	// its synopsis lines and what it is for ("": "usage: PATH COMMAND
	// [flags]").
	Usage string
	Run   func(args []string) error // a leaf: parses args, its flags included
	Sub   []Command                 // a group: its commands, in the order listed
}

// isHelp reports whether arg asks a group for its usage.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// Lookup returns c's sub-command name, or nil.
func (c *Command) Lookup(name string) *Command {
	for i := range c.Sub {
		if c.Sub[i].Name == name {
			return &c.Sub[i]
		}
	}
	return nil
}

// Exec runs c with args: a leaf's Run, or for a group the command that
// args[0] names (see the package comment for help).
func (c *Command) Exec(args []string) error {
	return c.exec([]string{c.Name}, args)
}

func (c *Command) exec(path, args []string) error {
	if c.Sub == nil {
		return c.Run(args)
	}
	if len(args) == 0 {
		return errors.New(strings.TrimSuffix(c.usage(path), "\n"))
	}
	if isHelp(args[0]) {
		if args[0] != "help" || len(args) == 1 {
			_, err := io.WriteString(os.Stdout, c.usage(path))
			return err
		}
		sub := c.Lookup(args[1])
		switch {
		case sub == nil:
			return c.unknown(path, args[1])
		case sub.Sub != nil:
			return sub.exec(slices.Concat(path, []string{sub.Name}), append([]string{"help"}, args[2:]...))
		}
		return sub.Run([]string{"-h"})
	}
	sub := c.Lookup(args[0])
	if sub == nil {
		return c.unknown(path, args[0])
	}
	return sub.exec(slices.Concat(path, []string{sub.Name}), args[1:])
}

func (c *Command) unknown(path []string, name string) error {
	return fmt.Errorf("unknown %s command %q\n%s", c.Name, name, strings.TrimSuffix(c.usage(path), "\n"))
}

// usage is a group's usage: its synopsis, its commands and how to ask
// for theirs.
func (c *Command) usage(path []string) string {
	p := strings.Join(path, " ")
	var b strings.Builder
	if c.Usage != "" {
		b.WriteString(strings.TrimSuffix(c.Usage, "\n"))
	} else {
		fmt.Fprintf(&b, "usage: %s COMMAND [flags]", p)
	}
	b.WriteString("\n\ncommands:\n")
	width := 0
	for _, s := range c.Sub {
		width = max(width, len(s.Name))
	}
	for _, s := range c.Sub {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, s.Name, s.Summary)
	}
	fmt.Fprintf(&b, "\n%s help COMMAND (or %s COMMAND -h) shows a command's usage.\n", p, p)
	return b.String()
}

// Main runs the command of root (a binary's tree) that args (os.Args[1:])
// name, and returns the exit status: 0 when it succeeded or printed a
// usage that was asked for; 1 when it failed, its error printed on
// standard error as "BINARY COMMAND: error"; 2 when no command or an
// unknown one was named, root's usage printed on standard error.
func Main(root *Command, args []string) int {
	if len(args) == 0 || !isHelp(args[0]) && root.Lookup(args[0]) == nil {
		if len(args) > 0 {
			fmt.Fprintf(os.Stderr, "%s: unknown command %q\n", root.Name, args[0])
		}
		fmt.Fprint(os.Stderr, root.usage([]string{root.Name}))
		return 2
	}
	if err := root.Exec(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s %s: %v\n", root.Name, args[0], err)
		return 1
	}
	return 0
}
