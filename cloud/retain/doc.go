// Package retain lets data go: Retainer deletes the raw images older than
// a duration (serve --retain-raw), keeping their rows, counts, boxes,
// masks and annotated images, and marks each row; PurgeDevice deletes
// every object and row of a device (canopy-cloud device purge).
//
// Both delete objects before rows, and each step can be run again: an
// interrupted run leaves rows whose objects are partly gone, never objects
// with no row (which reconcile would take for items to restore), and the
// next run finishes the work. Retainer.Run blocks until its context ends;
// its methods are safe for concurrent use.
package retain
