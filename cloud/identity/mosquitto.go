package identity

import (
	"bytes"
	"fmt"

	"github.com/canopy-forest/canopy/cloud/db"
)

// MosquittoFiles writes, for the credentials cs and the policy pol, what a
// Mosquitto 2 broker needs to enforce the same policy as the embedded
// broker: a password file (password_file; revoked identities left out) and
// an ACL file (acl_file) with %u patterns for devices and one block per
// receiver and producer. Give the broker SIGHUP after rewriting them.
func MosquittoFiles(cs []db.Credential, pol Policy) (passwd, acl []byte) {
	root := pol.Topics.Root
	if root == "" {
		root = "canopy"
	}
	var pw, a bytes.Buffer
	fmt.Fprintf(&a, "# Canopy MQTT policy for Mosquitto, written by canopy-cloud broker-config.\n")
	fmt.Fprintf(&a, "# Devices (username = device id): their own items, status and chunk requests;\n# their own acks, desired document and artifact chunks.\n")
	fmt.Fprintf(&a, "pattern write %s/v1/%%u/item\npattern write %s/v1/%%u/status\npattern read %s/v1/%%u/ack\n", root, root, root)
	fmt.Fprintf(&a, "pattern write %s/v1/%%u/fetch\npattern read %s/v1/%%u/desired\npattern read %s/v1/%%u/artifact\n", root, root, root)
	for _, c := range cs {
		if c.Revoked() {
			continue
		}
		fmt.Fprintf(&pw, "%s:%s\n", c.Username, c.PasswordHash)
		switch c.Role {
		case db.RoleReceiver:
			fmt.Fprintf(&a, "\n# Receiver %s: every item, status and chunk request; every ack, desired document and chunk.\nuser %s\n", c.Username, c.Username)
			fmt.Fprintf(&a, "topic read %s/v1/+/item\ntopic read %s/v1/+/status\ntopic write %s/v1/+/ack\n", root, root, root)
			fmt.Fprintf(&a, "topic read %s/v1/+/fetch\ntopic write %s/v1/+/desired\ntopic write %s/v1/+/artifact\n", root, root, root)
			for _, t := range pol.Compat {
				fmt.Fprintf(&a, "topic read %s\n", t)
			}
		case db.RoleProducer:
			fmt.Fprintf(&a, "\n# Producer %s: the compat topics only.\nuser %s\n", c.Username, c.Username)
			for _, t := range pol.Compat {
				fmt.Fprintf(&a, "topic write %s\n", t)
			}
		}
	}
	return pw.Bytes(), a.Bytes()
}

// MosquittoConf is the part of mosquitto.conf that loads the files, for a
// plain listener on port (and, when caFile is set, a TLS listener on
// tlsPort that requires client certificates signed by the device CA, the
// identity being the certificate's common name).
func MosquittoConf(dir string, port int, tls *MosquittoTLS) string {
	s := fmt.Sprintf(`# Canopy: load with "include_dir" or paste into mosquitto.conf.
per_listener_settings false
allow_anonymous false
password_file %[1]s/canopy.passwd
acl_file %[1]s/canopy.acl
listener %[2]d
`, dir, port)
	if tls != nil {
		s += fmt.Sprintf(`listener %d
certfile %s
keyfile %s
cafile %s/canopy-device-ca.crt
require_certificate true
use_identity_as_username true
`, tls.Port, tls.CertFile, tls.KeyFile, dir)
	}
	return s
}

// MosquittoTLS is a TLS listener of MosquittoConf.
type MosquittoTLS struct {
	Port              int
	CertFile, KeyFile string // the broker's own certificate and key
}
