// Package cli runs the commands of Canopy's binaries (canopy-agent,
// canopy-cloud): a tree of commands in which every command answers -h,
// --help and help with its usage on standard output and exit status 0.
//
// A Command is a group of sub-commands or a leaf. A leaf's Run parses its
// own flags with Parse, ParseArgs or ParseInterspersed, which print its
// usage on standard output when asked (-h, -help, --help) and report that
// it should do nothing more. A group answers, where a sub-command's name is
// expected, "help" (its own usage), "help NAME" (NAME's usage), "-h" and
// "--help"; no name, or an unknown one, is an error that shows its usage.
// Main runs a binary's tree and turns the outcome into the exit status.
//
// A Command holds no state between runs; Exec is as safe for concurrent
// use as the Run functions of the tree.
package cli
