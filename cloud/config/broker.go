package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"

	"github.com/canopy-forest/canopy/internal/tlsfiles"
)

// BrokerTLS is how a canopy-cloud command (a receiver, a compat input, a
// producer) reaches an external broker over TLS: the flags --mqtt-ca,
// --mqtt-cert and --mqtt-key.
type BrokerTLS struct {
	// CA is a PEM file of the CAs that sign the broker's certificate; ""
	// trusts the system's roots.
	CA string
	// Cert and Key are PEM files of this client's certificate and key, for
	// brokers that ask for one (Mosquitto with require_certificate, AWS IoT
	// Core). With use_identity_as_username the certificate's common name is
	// the identity whose ACL applies (canopy-cloud device add NAME --role
	// receiver --cert issues one).
	Cert, Key string
}

// Set reports whether any file is given.
func (b BrokerTLS) Set() bool { return b.CA != "" || b.Cert != "" || b.Key != "" }

// Validate checks b for a connection to broker (a URL); it reads no file.
func (b BrokerTLS) Validate(broker string) error {
	var errs []error
	if (b.Cert == "") != (b.Key == "") {
		errs = append(errs, errors.New("--mqtt-cert and --mqtt-key go together"))
	}
	if b.Set() {
		if u, err := url.Parse(broker); err == nil && !tlsScheme(u.Scheme) {
			errs = append(errs, fmt.Errorf("--mqtt-ca, --mqtt-cert and --mqtt-key need a TLS broker URL (ssl://, mqtts://, wss://), not %q", broker))
		}
	}
	return errors.Join(errs...)
}

// Config reads the files into a TLS configuration; nil (and no error) when
// no file is given, so that a TLS broker URL alone trusts the system's
// roots as before.
func (b BrokerTLS) Config() (*tls.Config, error) {
	if !b.Set() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.CA != "" {
		pool, err := tlsfiles.CertPool(b.CA)
		if err != nil {
			return nil, fmt.Errorf("--mqtt-ca: %w", err)
		}
		tc.RootCAs = pool
	}
	if b.Cert != "" {
		cert, err := tls.LoadX509KeyPair(b.Cert, b.Key)
		if err != nil {
			return nil, fmt.Errorf("--mqtt-cert %s, --mqtt-key %s: %w", b.Cert, b.Key, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func tlsScheme(s string) bool { return oneOf(s, "ssl", "tls", "mqtts", "tcps", "wss") }
