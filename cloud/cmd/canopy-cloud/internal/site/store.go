package site

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
)

// DBFlags registers --data and --database-url on fs.
func DBFlags(fs *flag.FlagSet, c *config.Serve) {
	fs.StringVar(&c.Data, "data", c.Data, "data `folder` of the embedded setup (its SQLite database)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://... or a SQLite file (default DATA/canopy.db)")
}

// StoreFlags registers on fs the flags that name the database and the
// blob store, as serve takes them: --data, --database-url and the S3 ones.
func StoreFlags(fs *flag.FlagSet, c *config.Serve) {
	fs.StringVar(&c.Data, "data", c.Data, "data `folder` of the embedded setup (its SQLite database and blob folder)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://... or a SQLite file (default DATA/canopy.db)")
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", c.S3Endpoint, "S3 API `URL` (default: the blob folder under --data); credentials from the AWS chain")
	fs.StringVar(&c.S3Region, "s3-region", c.S3Region, "S3 signing region")
	fs.BoolVar(&c.S3PathStyle, "s3-path-style", c.S3PathStyle, "S3 path-style addressing")
	fs.StringVar(&c.S3BucketPrefix, "s3-bucket-prefix", c.S3BucketPrefix, "`prefix` of the bucket names")
}

// WithDatabase opens the database of c (made when it is not there),
// calls f with it and a context of a minute, and closes it.
func WithDatabase(c config.Serve, f func(ctx context.Context, d *db.DB) error) error {
	return withDatabase(c, OpenDatabase, f)
}

// WithExistingDatabase is WithDatabase for a database that must exist:
// listing, reading or revoking never makes one.
func WithExistingDatabase(c config.Serve, f func(ctx context.Context, d *db.DB) error) error {
	return withDatabase(c, OpenExisting, f)
}

func withDatabase(c config.Serve, open func(context.Context, config.Serve) (*db.DB, error), f func(ctx context.Context, d *db.DB) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	return f(ctx, d)
}

// OpenDatabase opens the database of c (making the data folder of the
// embedded setup when needed).
func OpenDatabase(ctx context.Context, c config.Serve) (*db.DB, error) {
	if c.DatabaseURL == "" {
		if err := os.MkdirAll(c.Data, 0o750); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
	}
	d, err := db.Open(ctx, c.DatabaseDSN(), nil)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return d, nil
}

// OpenExisting opens the database of c, which must exist: the commands
// that work on a deployment's data never start one.
func OpenExisting(ctx context.Context, c config.Serve) (*db.DB, error) {
	if c.DatabaseURL == "" {
		if _, err := os.Stat(c.DatabaseDSN()); err != nil {
			return nil, fmt.Errorf("no database at %s (give the receiver's --data or --database-url): %w", c.DatabaseDSN(), err)
		}
	}
	d, err := db.Open(ctx, c.DatabaseDSN(), Logger("warn"))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return d, nil
}

// WithStore opens the database (which must exist) and the blob store of
// c, calls f with them and a context that ends on SIGINT or SIGTERM, and
// closes them.
func WithStore(c config.Serve, f func(ctx context.Context, d *db.DB, blobs blob.Store) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := OpenExisting(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	blobs, err := OpenBlobs(ctx, c)
	if err != nil {
		return err
	}
	return f(ctx, d, blobs)
}

// OpenBlobs opens the blob store of c: S3 with --s3-endpoint, else the
// blob folder under --data.
func OpenBlobs(ctx context.Context, c config.Serve) (blob.Store, error) {
	if c.S3Endpoint == "" {
		l, err := blob.NewLocal(c.BlobDir())
		if err != nil {
			return nil, fmt.Errorf("blob folder: %w", err)
		}
		return l, nil
	}
	s, err := blob.NewS3(ctx, blob.S3Config{Endpoint: c.S3Endpoint, Region: c.S3Region, PathStyle: c.S3PathStyle, Prefix: c.S3BucketPrefix})
	if err != nil {
		return nil, fmt.Errorf("S3 blob store: %w", err)
	}
	return s, nil
}

// Logger is a text logger on stderr at level (debug, info, warn or error).
func Logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
