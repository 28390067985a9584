// Package datacmd holds the commands of canopy-cloud that work on a
// deployment's stored data: export (a scan's trees, photos or mosaic),
// recount (queue count jobs again), reconcile (objects against rows),
// backup and restore.
package datacmd
