package accesscmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/sync/wire"
)

// BrokerConfig is canopy-cloud broker-config.
var BrokerConfig = cli.Command{Name: "broker-config", Summary: "write Mosquitto's password and ACL files from the device registry", Run: cmdBrokerConfig}

// cmdBrokerConfig writes what an external Mosquitto needs to enforce the
// same identities and topic policy as the embedded broker.
func cmdBrokerConfig(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("broker-config", flag.ContinueOnError)
	cli.SetUsage(fs, `usage: canopy-cloud broker-config --out DIR [flags]

Writes, from the device registry, what Mosquitto 2 needs to enforce Canopy's
identities and topic policy: DIR/canopy.passwd (password_file: every identity
not revoked, PBKDF2-SHA512 hashes), DIR/canopy.acl (acl_file: a device writes
only ROOT/v1/<its id>/item and .../status and reads only .../ack; receivers
read every item and status and write acks; producers write the compat topics),
DIR/canopy-device-ca.crt (the CA of device client certificates) and
DIR/mosquitto.conf (a listener that loads them). Run it again after device add
or revoke, then reload Mosquitto (SIGHUP). Flags:`)
	site.DBFlags(fs, &c)
	out := fs.String("out", "", "`dir`ectory to write the files to")
	fs.StringVar(&c.TopicRoot, "topic-root", c.TopicRoot, "topic `root`")
	fs.StringVar(&c.CompatTopic, "compat-topic", c.CompatTopic, "compat `topics` (comma-separated)")
	port := fs.Int("port", 1883, "plain listener `port` of mosquitto.conf")
	tlsPort := fs.Int("tls-port", 0, "TLS listener `port` requiring client certificates (0: none)")
	tlsCert := fs.String("tls-cert", "", "the broker's certificate `file` for the TLS listener")
	tlsKey := fs.String("tls-key", "", "the broker's key `file` for the TLS listener")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out DIR is required")
	}
	if *tlsPort != 0 && (*tlsCert == "" || *tlsKey == "") {
		return errors.New("--tls-port needs --tls-cert and --tls-key")
	}
	var keys *identity.Keys
	var cs []db.Credential
	if err := site.WithDatabase(c, func(ctx context.Context, d *db.DB) (err error) {
		if keys, err = identity.LoadKeys(ctx, d); err != nil {
			return err
		}
		cs, err = d.ListCredentials(ctx)
		return err
	}); err != nil {
		return err
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	passwd, acl := identity.MosquittoFiles(cs, identity.Policy{Topics: wire.Topics{Root: c.TopicRoot}, Compat: c.CompatTopics()})
	var tls *identity.MosquittoTLS
	if *tlsPort != 0 {
		tls = &identity.MosquittoTLS{Port: *tlsPort, CertFile: *tlsCert, KeyFile: *tlsKey}
	}
	files := []struct {
		name string
		body []byte
		mode os.FileMode
	}{
		{"canopy.passwd", passwd, 0o640},
		{"canopy.acl", acl, 0o644},
		{"canopy-device-ca.crt", keys.CA.CertPEM, 0o644},
		{"mosquitto.conf", []byte(identity.MosquittoConf(dir, *port, tls)), 0o644},
	}
	for _, f := range files {
		// Written beside and renamed, so that a broker reloading meanwhile
		// never reads half a file.
		tmp := filepath.Join(dir, "."+f.name+".tmp")
		if err := os.WriteFile(tmp, f.body, f.mode); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.name)); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "wrote %s/{canopy.passwd,canopy.acl,canopy-device-ca.crt,mosquitto.conf} for %d identities; reload Mosquitto (SIGHUP) to apply\n", dir, len(cs))
	return nil
}
