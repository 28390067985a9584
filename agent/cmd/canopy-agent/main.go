// Command canopy-agent is the field agent: it captures frames, segments
// forest, selects what is worth sending, and syncs it to the cloud.
//
//	canopy-agent run --config FILE [flags]
//	canopy-agent segment [--model FILE] [--out DIR] IMAGE...
//	canopy-agent outbox stats|dead-letters --data DIR
//	canopy-agent telemetry replay FILE.tlog --to udp://HOST:PORT | show
//	canopy-agent boards
//	canopy-agent version
//
// Every command answers -h, --help and help (canopy-agent help COMMAND)
// with its usage.
package main

import (
	"os"

	"github.com/canopy-forest/canopy/internal/cli"
)

// commands is canopy-agent's command tree.
var commands = cli.Command{
	Name:  "canopy-agent",
	Usage: "usage: canopy-agent COMMAND [flags]",
	Sub: []cli.Command{
		{Name: "run", Summary: "capture, segment, select, encode and sync", Run: cmdRun},
		{Name: "segment", Summary: "segment image files and print one JSON line each", Run: cmdSegment},
		outboxCommand,
		{Name: "boards", Summary: "list the board profiles", Run: cmdBoards},
		telemetryCommand,
		{Name: "version", Summary: "print versions and architecture", Run: cmdVersion},
	},
}

func main() {
	os.Exit(cli.Main(&commands, os.Args[1:]))
}
