package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/sync/wire"
)

const deviceUsage = `usage:
  canopy-cloud device add ID [--cert] [--role device|receiver|producer] [--out DIR] [--data DIR | --database-url URL]
  canopy-cloud device list [--json] [--data DIR | --database-url URL]
  canopy-cloud device revoke ID [--data DIR | --database-url URL]
  canopy-cloud device purge ID --yes-delete-everything [--data DIR | --database-url URL] [S3 flags]`

// cmdDevice: the device registry (and the identities of receivers and
// compat producers).
func cmdDevice(args []string) error {
	if len(args) == 0 {
		return errors.New(deviceUsage)
	}
	switch args[0] {
	case "add":
		return deviceAdd(args[1:])
	case "list":
		return deviceList(args[1:])
	case "revoke":
		return deviceRevoke(args[1:])
	case "purge":
		return devicePurge(args[1:]) // purge.go
	}
	return fmt.Errorf("unknown device command %q\n%s", args[0], deviceUsage)
}

// dbFlags registers --data and --database-url on fs.
func dbFlags(fs *flag.FlagSet, c *config.Serve) {
	fs.StringVar(&c.Data, "data", c.Data, "data `folder` of the embedded setup (its SQLite database)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://... or a SQLite file (default DATA/canopy.db)")
}

// withDatabase opens the database of c, calls f with it (and a context of a
// minute) and closes it.
func withDatabase(c config.Serve, f func(ctx context.Context, d *db.DB) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := openDatabase(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	return f(ctx, d)
}

// openDatabase opens the database of c (making the data folder of the
// embedded setup when needed).
func openDatabase(ctx context.Context, c config.Serve) (*db.DB, error) {
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

// parseWithID parses args of the form "ID [flags]" or "[flags] ID".
func parseWithID(fs *flag.FlagSet, args []string) (string, error) {
	var id string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if id == "" {
		return "", errors.New("no ID given\n" + deviceUsage)
	}
	if err := wire.ValidDevice(id); err != nil {
		return "", err
	}
	return id, nil
}

// DeviceAdded is what device add prints: everything a board needs, once.
type DeviceAdded struct {
	Device   string `json:"device"`
	Role     string `json:"role"`
	Username string `json:"username"`
	Password string `json:"password"`  // shown this once; stored hashed
	CloudKey string `json:"cloud_key"` // the agent's sync.cloud_key
	Cert     string `json:"cert,omitempty"`
	Key      string `json:"key,omitempty"`
	CA       string `json:"ca,omitempty"` // the device CA, for brokers that check client certificates
}

func deviceAdd(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("device add", flag.ContinueOnError)
	dbFlags(fs, &c)
	cert := fs.Bool("cert", false, "also issue a client certificate and key signed by the cloud's device CA")
	role := fs.String("role", db.RoleDevice, "device, receiver (a canopy-cloud receiver on an external broker) or producer (compat messages)")
	out := fs.String("out", "", "also write the credentials as files into `dir` (ID.password, ID.crt, ID.key, ca.crt, cloud.key)")
	id, err := parseWithID(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	return withDatabase(c, func(ctx context.Context, d *db.DB) error {
		return addIdentity(ctx, d, id, *role, *cert, *out)
	})
}

// addIdentity registers id with role (and a certificate), prints its
// credentials and writes them into out when set.
func addIdentity(ctx context.Context, d *db.DB, id, role string, cert bool, out string) error {
	keys, err := identity.LoadKeys(ctx, d)
	if err != nil {
		return err
	}
	pw := identity.NewPassword()
	hash, err := identity.HashPassword(pw)
	if err != nil {
		return err
	}
	res := DeviceAdded{Device: id, Role: role, Username: id, Password: pw, CloudKey: keys.Public()}
	cred := db.Credential{Username: id, Role: role, PasswordHash: hash}
	if cert {
		cc, err := keys.CA.Issue(id)
		if err != nil {
			return err
		}
		res.Cert, res.Key, res.CA = string(cc.CertPEM), string(cc.KeyPEM), string(keys.CA.CertPEM)
		cred.CertSerial = cc.Serial
	}
	if err := d.AddCredential(ctx, cred); err != nil {
		if errors.Is(err, db.ErrExists) {
			return fmt.Errorf("%s is already registered (revoked identities keep their name): choose another id", id)
		}
		return err
	}
	if out != "" {
		if err := writeCredentialFiles(out, res); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s %s registered; its password is shown only now: copy it to the board\n", role, id)
	return nil
}

// writeCredentialFiles writes res into dir, secrets readable by the owner only.
func writeCredentialFiles(dir string, res DeviceAdded) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	type file struct {
		name, body string
		mode       os.FileMode
	}
	files := []file{
		{res.Device + ".password", res.Password + "\n", 0o600},
		{"cloud.key", res.CloudKey + "\n", 0o644},
	}
	if res.Cert != "" {
		files = append(files, file{res.Device + ".crt", res.Cert, 0o644}, file{res.Device + ".key", res.Key, 0o600}, file{"ca.crt", res.CA, 0o644})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.body), f.mode); err != nil {
			return err
		}
	}
	return nil
}

func deviceList(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("device list", flag.ContinueOnError)
	dbFlags(fs, &c)
	asJSON := fs.Bool("json", false, "one JSON array")
	if help, err := parseArgs(fs, args); help || err != nil {
		return err
	}
	var cs []db.Credential
	if err := withDatabase(c, func(ctx context.Context, d *db.DB) (err error) {
		cs, err = d.ListCredentials(ctx)
		return err
	}); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(cs)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tCREATED\tREVOKED\tCERTIFICATE")
	for _, c := range cs {
		revoked := "-"
		if c.RevokedAt != nil {
			revoked = c.RevokedAt.UTC().Format(time.RFC3339)
		}
		serial := c.CertSerial
		if serial == "" {
			serial = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Username, c.Role, c.CreatedAt.UTC().Format(time.RFC3339), revoked, serial)
	}
	return tw.Flush()
}

func deviceRevoke(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("device revoke", flag.ContinueOnError)
	dbFlags(fs, &c)
	id, err := parseWithID(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	return withDatabase(c, func(ctx context.Context, d *db.DB) error { return revokeIdentity(ctx, d, id) })
}

// revokeIdentity revokes id and the HTTP tokens bound to it.
func revokeIdentity(ctx context.Context, d *db.DB, id string) error {
	if err := d.RevokeCredential(ctx, id); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return fmt.Errorf("%s is not registered (canopy-cloud device list)", id)
		}
		return err
	}
	// Its HTTP tokens (bound to it with token create --device) go too.
	ts, err := d.ListTokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Device != id {
			continue
		}
		if revoked, err := d.RevokeToken(ctx, t.Hash); err != nil {
			return err
		} else if revoked {
			fmt.Fprintf(os.Stderr, "token %s (%s), bound to %s, revoked\n", t.ID(), t.Name, id)
		}
	}
	fmt.Fprintf(os.Stderr, "%s revoked: the embedded broker of canopy-cloud serve disconnects it within a few seconds and refuses it from now on; "+
		"for Mosquitto, run canopy-cloud broker-config again and reload the broker (SIGHUP)\n", id)
	return nil
}
