package tlsfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCertPool(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none.pem"), "no such file"},
		{"not PEM", notPEM, "no PEM certificate in it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CertPool(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CertPool(%s) = %v, want an error with %q", tc.path, err, tc.want)
			}
		})
	}
}
