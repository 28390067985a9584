package accesscmd

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/sync/wire"
)

const deviceUsage = `usage:
  canopy-cloud device add ID [--cert] [--role device|receiver|producer] [--out DIR [--broker URL] [--mqtt-ca FILE] [--board-dir /etc/canopy]] [--data DIR | --database-url URL]
  canopy-cloud device list [--json] [--data DIR | --database-url URL]
  canopy-cloud device revoke ID [--data DIR | --database-url URL]
  canopy-cloud device purge ID --yes-delete-everything [--data DIR | --database-url URL] [S3 flags]`

// Device is canopy-cloud device: the device registry (and the identities of receivers and
// compat producers).
var Device = cli.Command{
	Name:    "device",
	Summary: "register, list, revoke and purge devices (and receivers, producers): device add|list|revoke|purge",
	Usage:   deviceUsage,
	Sub: []cli.Command{
		{Name: "add", Summary: "register an identity and print its credentials, once", Run: deviceAdd},
		{Name: "list", Summary: "list the identities, revoked ones too", Run: deviceList},
		{Name: "revoke", Summary: "revoke an identity and the API tokens bound to it", Run: deviceRevoke},
		{Name: "purge", Summary: "delete every object and row of a device, for good", Run: devicePurge}, // purge.go
	},
}

// parseWithID parses args of the form "ID [flags]" or "[flags] ID". help
// is true when the usage was asked for (and printed).
func parseWithID(fs *flag.FlagSet, args []string) (id string, help bool, err error) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		id, args = args[0], args[1:]
	}
	if help, err := cli.Parse(fs, args); help || err != nil {
		return "", help, err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return "", false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if id == "" {
		return "", false, errors.New("no ID given\n" + deviceUsage)
	}
	if err := wire.ValidDevice(id); err != nil {
		return "", false, err
	}
	return id, false, nil
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

// boardFiles says what device add --out writes: into Dir, the files a
// board needs, named as they will lie in BoardDir on the board.
type boardFiles struct {
	Dir      string // where to write them ("": nothing is written)
	Broker   string // the broker URL the board connects to ("": left for the operator to fill in)
	MQTTCA   string // a PEM file of the CA of the broker's certificate, copied for the board ("": its system roots)
	BoardDir string // where they go on the board (/etc/canopy)
}

func deviceAdd(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("device add", flag.ContinueOnError)
	cli.SetUsage(fs, `usage: canopy-cloud device add ID [--cert] [--role device|receiver|producer] [--out DIR [--broker URL] [--mqtt-ca FILE] [--board-dir /etc/canopy]] [--data DIR | --database-url URL]

Registers ID and prints its credentials as JSON, once: the password is
stored hashed. Flags:`)
	site.DBFlags(fs, &c)
	cert := fs.Bool("cert", false, "also issue a client certificate and key signed by the cloud's device CA")
	role := fs.String("role", db.RoleDevice, "device, receiver (a canopy-cloud receiver on an external broker) or producer (compat messages)")
	var bf boardFiles
	fs.StringVar(&bf.Dir, "out", "", "also write the credentials as files into `dir`, ready to copy to --board-dir: ID.password (mode 0600), cloud.key, "+
		"with --cert ID.crt, ID.key and ca.crt, and for a device agent.d/ID.yaml, the agent's config fragment (device, broker, username, "+
		"password file, cloud key, CA)")
	fs.StringVar(&bf.Broker, "broker", "", "with --out: the broker `URL` the board connects to (ssl://mqtt.example.org:8883), written into the fragment")
	fs.StringVar(&bf.MQTTCA, "mqtt-ca", "", "with --out: PEM `file` of the CA that signs the broker's certificate, copied to DIR/mqtt-ca.crt for the board (default: its system roots)")
	fs.StringVar(&bf.BoardDir, "board-dir", "/etc/canopy", "with --out: the `folder` the files go to on the board; the fragment names them there")
	id, help, err := parseWithID(fs, args)
	if help || err != nil {
		return err
	}
	if err := bf.validate(); err != nil {
		return err
	}
	return site.WithDatabase(c, func(ctx context.Context, d *db.DB) error {
		return addIdentity(ctx, d, id, *role, *cert, bf)
	})
}

// validate checks the flags of --out before anything is registered.
func (bf boardFiles) validate() error {
	if bf.Dir == "" {
		if bf.Broker != "" || bf.MQTTCA != "" {
			return errors.New("--broker and --mqtt-ca say what --out DIR writes for the board: give --out too")
		}
		return nil
	}
	var errs []error
	if bf.Broker != "" {
		if u, err := url.Parse(bf.Broker); err != nil || u.Host == "" || u.User != nil ||
			!slices.Contains([]string{"tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"}, u.Scheme) {
			errs = append(errs, fmt.Errorf("--broker %q: want a URL such as ssl://mqtt.example.org:8883 (no credentials in it)", bf.Broker))
		}
	}
	if bf.MQTTCA != "" {
		if b, err := os.ReadFile(bf.MQTTCA); err != nil {
			errs = append(errs, fmt.Errorf("--mqtt-ca: %w", err))
		} else if blk, _ := pem.Decode(b); blk == nil || blk.Type != "CERTIFICATE" {
			errs = append(errs, fmt.Errorf("--mqtt-ca %s: no PEM certificate in it", bf.MQTTCA))
		}
	}
	if !filepath.IsAbs(bf.BoardDir) {
		errs = append(errs, fmt.Errorf("--board-dir %q: want an absolute path (/etc/canopy)", bf.BoardDir))
	}
	return errors.Join(errs...)
}

// addIdentity registers id with role (and a certificate), records it in the
// audit trail, prints its credentials and writes them as bf says.
func addIdentity(ctx context.Context, d *db.DB, id, role string, cert bool, bf boardFiles) error {
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
	detail := "role " + role + ", password"
	if cert {
		detail += ", certificate serial " + cred.CertSerial
	}
	if err := site.Audit(ctx, d, db.AuditDeviceAdd, id, detail); err != nil {
		return err
	}
	if bf.Dir != "" {
		if err := writeCredentialFiles(bf, res); err != nil {
			return err
		}
	}
	if err := cli.PrintJSON(os.Stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s %s registered; its password is shown only now: copy it to the board\n", role, id)
	if bf.Dir != "" && role == db.RoleDevice {
		fmt.Fprintf(os.Stderr, "on the board: sudo cp -r %s/. %s/ && sudo chown canopy %s/%s.password", bf.Dir, bf.BoardDir, bf.BoardDir, id)
		if cert {
			fmt.Fprintf(os.Stderr, " %s/%s.key", bf.BoardDir, id)
		}
		fmt.Fprintln(os.Stderr, " && sudo systemctl restart canopy-agent")
		if bf.Broker == "" {
			fmt.Fprintf(os.Stderr, "no --broker: set sync.broker in %s before the agent can sync\n", filepath.Join(bf.Dir, "agent.d", id+".yaml"))
		}
	}
	return nil
}

// writeCredentialFiles writes res into bf.Dir, secrets readable by the
// owner only, and for a device the agent's config fragment.
func writeCredentialFiles(bf boardFiles, res DeviceAdded) error {
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
	if bf.MQTTCA != "" {
		b, err := os.ReadFile(bf.MQTTCA)
		if err != nil {
			return fmt.Errorf("--mqtt-ca: %w", err)
		}
		files = append(files, file{"mqtt-ca.crt", string(b), 0o644})
	}
	if res.Role == db.RoleDevice {
		files = append(files, file{filepath.Join("agent.d", res.Device+".yaml"), agentFragment(bf, res), 0o644})
	}
	// DIR holds secrets (0700); agent.d is for the agent's user to read on
	// the board (cp -r keeps the modes).
	if err := os.MkdirAll(bf.Dir, 0o700); err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(bf.Dir, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil { // an older file keeps its mode in WriteFile
			return err
		}
	}
	return nil
}

// agentFragment is the agent's config fragment for the board (read after
// /etc/canopy/agent.yaml from /etc/canopy/agent.d/): its identity and its
// cloud, the files named where they lie on the board.
func agentFragment(bf boardFiles, res DeviceAdded) string {
	on := func(name string) string { return path.Join(bf.BoardDir, name) }
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: written by canopy-cloud device add %s at %s.\n", on("agent.d/"+res.Device+".yaml"), res.Device, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# This board's identity and its cloud; the agent reads it after %s.\n", on("agent.yaml"))
	fmt.Fprintf(&b, "device: %s\nsync:\n", res.Device)
	if bf.Broker != "" {
		fmt.Fprintf(&b, "  broker: %q\n", bf.Broker)
	} else {
		b.WriteString("  # broker: ssl://mqtt.example.org:8883   (device add --broker writes it)\n")
	}
	fmt.Fprintf(&b, "  username: %q\n  password_file: %q\n", res.Username, on(res.Device+".password"))
	b.WriteString("  # The cloud's public key: items leave the outbox only on acks it signed.\n")
	fmt.Fprintf(&b, "  cloud_key: %q\n", res.CloudKey)
	if bf.MQTTCA != "" {
		fmt.Fprintf(&b, "  ca_file: %q\n", on("mqtt-ca.crt"))
	}
	if res.Cert != "" {
		fmt.Fprintf(&b, "  cert_file: %q\n  key_file: %q\n", on(res.Device+".crt"), on(res.Device+".key"))
	}
	return b.String()
}

func deviceList(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("device list", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-cloud device list [--json] [--data DIR | --database-url URL]\n\nLists every identity (devices, receivers, producers), revoked ones too. Flags:")
	site.DBFlags(fs, &c)
	asJSON := fs.Bool("json", false, "one JSON array")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	var cs []db.Credential
	if err := site.WithDatabase(c, func(ctx context.Context, d *db.DB) (err error) {
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
	cli.SetUsage(fs, "usage: canopy-cloud device revoke ID [--data DIR | --database-url URL]\n\nRevokes ID and the API tokens bound to it; its name stays taken. Flags:")
	site.DBFlags(fs, &c)
	id, help, err := parseWithID(fs, args)
	if help || err != nil {
		return err
	}
	return site.WithDatabase(c, func(ctx context.Context, d *db.DB) error { return revokeIdentity(ctx, d, id) })
}

// revokeIdentity revokes id and the HTTP tokens bound to it, each an entry
// of the audit trail.
func revokeIdentity(ctx context.Context, d *db.DB, id string) error {
	if err := d.RevokeCredential(ctx, id); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return fmt.Errorf("%s is not registered (canopy-cloud device list)", id)
		}
		return err
	}
	if err := site.Audit(ctx, d, db.AuditDeviceRevoke, id, ""); err != nil {
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
			if err := site.Audit(ctx, d, db.AuditTokenRevoke, t.ID(), fmt.Sprintf("name %q, bound to %s, revoked with it", t.Name, id)); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "token %s (%s), bound to %s, revoked\n", t.ID(), t.Name, id)
		}
	}
	fmt.Fprintf(os.Stderr, "%s revoked: the embedded broker of canopy-cloud serve disconnects it within a few seconds and refuses it from now on; "+
		"for Mosquitto, run canopy-cloud broker-config again and reload the broker (SIGHUP)\n", id)
	return nil
}
