package api

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync"
)

// Certificate is the HTTP server's TLS certificate and key, read from PEM
// files, and read again by Reload (serve calls it on SIGHUP), so that a
// renewed certificate is served without a restart. Safe for concurrent use.
type Certificate struct {
	certFile, keyFile string

	mu   sync.RWMutex
	cert *tls.Certificate
}

// LoadCertificate reads the certificate chain and the key.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. On an error the certificate served so far
// stays.
func (c *Certificate) Reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("http TLS certificate %s, key %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("http TLS certificate %s: %w", c.certFile, err)
		}
	}
	c.mu.Lock()
	c.cert = &cert
	c.mu.Unlock()
	return nil
}

// Leaf is the certificate served now.
func (c *Certificate) Leaf() *x509.Certificate {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert.Leaf
}

// TLSConfig serves the current certificate, TLS 1.2 at least.
func (c *Certificate) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			c.mu.RLock()
			defer c.mu.RUnlock()
			return c.cert, nil
		},
	}
}
