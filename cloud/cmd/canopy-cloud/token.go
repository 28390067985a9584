package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
)

// cmdToken: canopy-cloud token create --scope read|write [--name N] --data DIR | --database-url URL.
func cmdToken(args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: canopy-cloud token create --scope read|write [--name NAME] [--data DIR | --database-url URL]")
	}
	c := config.DefaultServe()
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	scope := fs.String("scope", "read", "read, or write (which includes read)")
	name := fs.String("name", "", "a `name` to remember the token by")
	fs.StringVar(&c.Data, "data", c.Data, "data `folder` of the embedded setup (its SQLite database)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://... or a SQLite file (default DATA/canopy.db)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *scope != db.ScopeRead && *scope != db.ScopeWrite {
		return fmt.Errorf("--scope %q: want read or write", *scope)
	}
	if c.DatabaseURL == "" {
		if err := os.MkdirAll(c.Data, 0o750); err != nil {
			return fmt.Errorf("data folder: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := db.Open(ctx, c.DatabaseDSN(), nil)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer d.Close()
	secret := api.NewToken()
	if err := d.CreateToken(ctx, db.Token{Hash: api.HashToken(secret), Scope: *scope, Name: *name}); err != nil {
		return err
	}
	fmt.Println(secret)
	fmt.Fprintf(os.Stderr, "token created (scope %s); it is shown only once: keep it\n", *scope)
	return nil
}
