package main

import (
	"testing"

	"github.com/canopy-forest/canopy/internal/cli/clitest"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestHelp runs the built canopy-agent with -h, --help and help for every
// command and sub-command of its command tree: each prints its usage on
// stdout and exits 0; an unknown command fails and says so.
func TestHelp(t *testing.T) {
	clitest.Help(t, e2etest.Bin(t, "canopy-agent"), &commands)
}
