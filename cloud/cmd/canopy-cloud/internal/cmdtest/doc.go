// Package cmdtest holds what the tests of canopy-cloud's commands share:
// a configuration on a data folder, certificate authorities made in the
// test, and what a command prints on stdout.
package cmdtest
