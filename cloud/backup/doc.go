// Package backup copies a deployment's database and every stored object
// into a folder, and restores such a folder into a new database and blob
// store.
//
// The folder holds backup.json (written last: a folder without it is an
// unfinished backup), the database (canopy.db, a consistent snapshot taken
// with SQLite's VACUUM INTO while serving; or canopy.pgdump, pg_dump's
// custom format) and blobs/<bucket>/<key>, the layout of the blob folder
// (blob.Local). Objects are copied after the database, so every object a
// row names is in the backup; an object stored in between is in it
// without a row, and `canopy-cloud reconcile` links it (raw) or finds it
// (processed) after a restore. Save and Restore stream objects through
// temporary files, never holding one in memory.
package backup
