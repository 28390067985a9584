// Command canopy-agent is the field agent: it captures frames, segments
// forest, selects what is worth sending, and syncs it to the cloud.
//
//	canopy-agent run --config FILE [flags]
//	canopy-agent segment [--model FILE] [--out DIR] IMAGE...
//	canopy-agent outbox stats|dead-letters --data DIR
//	canopy-agent telemetry replay FILE.tlog --to udp://HOST:PORT | show
//	canopy-agent boards
//	canopy-agent version
package main

import (
	"fmt"
	"os"
	"sort"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{
	"run":       {"capture, segment, select, encode and sync", cmdRun},
	"segment":   {"segment image files and print one JSON line each", cmdSegment},
	"outbox":    {"inspect the outbox of a stopped agent (stats, dead-letters)", cmdOutbox},
	"boards":    {"list the board profiles", cmdBoards},
	"telemetry": {"replay a flight's telemetry log, or show the vehicle's state", cmdTelemetry},
	"version":   {"print versions and architecture", cmdVersion},
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "canopy-agent: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "canopy-agent %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: canopy-agent COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", n, commands[n].summary)
	}
}
