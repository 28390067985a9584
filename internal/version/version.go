// Package version holds the build's version and commit, set by the linker
// (see the Makefile's LDFLAGS).
package version

// Version is the release, from `git describe`; Commit the short commit hash.
var (
	Version = "dev"
	Commit  = "unknown"
)
