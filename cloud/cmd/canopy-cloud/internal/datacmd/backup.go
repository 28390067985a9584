package datacmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/canopy-forest/canopy/cloud/backup"
	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/internal/cli"
)

// Backup is canopy-cloud backup.
var Backup = cli.Command{Name: "backup", Summary: "copy the database and every stored object into a folder", Run: cmdBackup}

func cmdBackup(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	cli.SetUsage(fs, `usage: canopy-cloud backup --out DIR [flags]

Copies the database (SQLite: a consistent snapshot, taken while serving;
PostgreSQL: pg_dump's custom format) and then every object of both
buckets into DIR (blobs/<bucket>/<key>), and writes DIR/backup.json last.
Run again into the same DIR, it copies only what is new. Restore with
canopy-cloud restore (docs/deploy.md). Flags:`)
	out := fs.String("out", "", "backup `folder` (made if missing)")
	site.StoreFlags(fs, &c)
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out DIR is required")
	}
	var m backup.Manifest
	if err := site.WithStore(c, func(ctx context.Context, d *db.DB, blobs blob.Store) (err error) {
		m, err = backup.Save(ctx, d, c.DatabaseDSN(), blobs, *out, site.Logger("warn"))
		return err
	}); err != nil {
		return err
	}
	fmt.Printf("backup: %s database (%s) and %d raw, %d processed objects in %s\n", m.Dialect, m.Database, m.Objects["raw"], m.Objects["processed"], *out)
	return nil
}

// Restore is canopy-cloud restore.
var Restore = cli.Command{Name: "restore", Summary: "restore a backup folder into a new database and blob store", Run: cmdRestore}

func cmdRestore(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	cli.SetUsage(fs, `usage: canopy-cloud restore --from DIR [flags]

Restores a backup folder (canopy-cloud backup) into a new database and
blob store, named by the flags as serve takes them: --data DIR (a SQLite
file that must not exist, and the blob folder) or --database-url (a
PostgreSQL database that exists, made with CREATE DATABASE, and has no
Canopy tables), and --s3-* for S3 (empty buckets). Then start serve on
them and run canopy-cloud reconcile. Flags:`)
	from := fs.String("from", "", "backup `folder`")
	site.StoreFlags(fs, &c)
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	if *from == "" {
		return errors.New("--from DIR is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	blobs, err := site.OpenBlobs(ctx, c)
	if err != nil {
		return err
	}
	m, err := backup.Restore(ctx, *from, c.DatabaseDSN(), blobs, site.Logger("warn"))
	if err != nil {
		return err
	}
	fmt.Printf("restore: %s database and %d raw, %d processed objects from the backup of %s\n", m.Dialect, m.Objects["raw"], m.Objects["processed"],
		m.CreatedAt.Format("2006-01-02 15:04:05Z"))
	return nil
}
