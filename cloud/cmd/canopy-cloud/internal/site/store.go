package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
)

// storeFlags registers on fs the flags that name the database and the
// blob store, as serve takes them: --data, --database-url and the S3 ones.
func storeFlags(fs *flag.FlagSet, c *config.Serve) {
	fs.StringVar(&c.Data, "data", c.Data, "data `folder` of the embedded setup (its SQLite database and blob folder)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://... or a SQLite file (default DATA/canopy.db)")
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", c.S3Endpoint, "S3 API `URL` (default: the blob folder under --data); credentials from the AWS chain")
	fs.StringVar(&c.S3Region, "s3-region", c.S3Region, "S3 signing region")
	fs.BoolVar(&c.S3PathStyle, "s3-path-style", c.S3PathStyle, "S3 path-style addressing")
	fs.StringVar(&c.S3BucketPrefix, "s3-bucket-prefix", c.S3BucketPrefix, "`prefix` of the bucket names")
}

// withStore opens the database and the blob store of c, calls f with
// them and a context that ends on SIGINT or SIGTERM, and closes them. The
// database must exist: these commands work on a deployment's data, they
// never start one.
func withStore(c config.Serve, f func(ctx context.Context, d *db.DB, blobs blob.Store) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.DatabaseURL == "" {
		if _, err := os.Stat(c.DatabaseDSN()); err != nil {
			return fmt.Errorf("no database at %s (give --data or --database-url): %w", c.DatabaseDSN(), err)
		}
	}
	d, err := db.Open(ctx, c.DatabaseDSN(), newLogger("warn"))
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer d.Close()
	blobs, err := openBlobs(ctx, c)
	if err != nil {
		return err
	}
	return f(ctx, d, blobs)
}
