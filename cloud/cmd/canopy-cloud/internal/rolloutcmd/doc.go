// Package rolloutcmd is canopy-cloud rollout: rolling a model or config
// overrides out to devices in waves, and pausing, resuming or aborting it.
// A running serve on the same database sends the waves.
package rolloutcmd
