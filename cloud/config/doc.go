// Package config is the typed configuration of canopy-cloud serve: defaults
// (the embedded setup: in-process broker, local blob folder, SQLite under
// the data folder), then flags. Validate reports every problem at once and
// never dials a server.
package config
