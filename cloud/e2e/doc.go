// Package e2e holds the end-to-end tests of the cloud receiver: they run
// the built binaries (CANOPY_BIN) as a user would, agent to broker to
// cloud to blob store and database. They need the build tag opencv (the
// agent is built with it) and skip when CANOPY_BIN is unset.
package e2e
