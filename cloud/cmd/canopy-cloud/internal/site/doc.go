// Package site is what the commands of canopy-cloud share about the
// deployment they work on: the flags that name its database and blob store
// (as serve takes them), opening them, and the audit trail of the changes
// made from the command line.
//
// The functions hold no state; each opens what it needs and closes it.
package site
