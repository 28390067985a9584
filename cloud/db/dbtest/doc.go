// Package dbtest is the conformance suite of package db, run against every
// dialect (SQLite in a temporary folder, and the real PostgreSQL of
// $CANOPY_TEST_POSTGRES, one new database per test), and helpers that open
// such test databases for other packages' tests.
package dbtest
