// Package cmdtest holds what the tests of canopy-cloud's commands share:
// a configuration on a data folder and certificate authorities made in
// the test.
package cmdtest
