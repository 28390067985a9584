// Package tlsfiles reads the PEM files of a TLS configuration: the one
// place that turns a CA file into a pool of roots, for the agent's
// publisher and the cloud's broker client alike.
package tlsfiles

import (
	"crypto/x509"
	"fmt"
	"os"
)

// CertPool reads the PEM certificates of path into a new pool; an error
// when the file cannot be read or holds no PEM certificate.
func CertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}
