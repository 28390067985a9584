package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/cmdtest"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestServeHTTPSReloadAndMetrics runs the built serve with --http-tls-cert
// and --metrics-listen: it answers over TLS only; /metrics there wants a
// token of scope metrics, while the metrics listener answers without one;
// after the certificate files are renewed, SIGHUP makes new connections
// get the new certificate from the same process.
func TestServeHTTPSReloadAndMetrics(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-cloud")
	dir := t.TempDir()
	data, certFile, keyFile := filepath.Join(dir, "data"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := cmdtest.NewCA(t, "test HTTPS CA")
	renew := func(serial int64) {
		c, k := ca.Issue(t, "127.0.0.1", serial, true)
		cmdtest.WriteFiles(t, map[string][]byte{certFile: c, keyFile: k})
	}
	renew(100)
	out, err := exec.Command(bin, "token", "create", "--scope", "metrics", "--name", "prometheus", "--data", data).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))

	addr, metricsAddr := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "--data", data, "--http", addr, "--ingest", "off", "--workers", "0",
		"--http-tls-cert", certFile, "--http-tls-key", keyFile, "--metrics-listen", metricsAddr)
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	srv.Cancel = func() error { return srv.Process.Signal(os.Interrupt) }
	srv.WaitDelay = 10 * time.Second
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		srv.Process.Signal(os.Interrupt)
		if err := <-exited; err != nil {
			t.Errorf("serve: %v", err)
		}
		if !strings.Contains(logs.String(), "HTTP certificate reloaded") {
			t.Error("no reload in the log")
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	}()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	// A new connection each time, so that each sees the certificate served now.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	get := func(url, token string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	serial := func() int64 {
		t.Helper()
		resp, err := get("https://"+addr+"/healthz", "")
		if err != nil {
			t.Fatalf("GET https://%s/healthz: %v", addr, err)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	for {
		if _, err := get("https://"+addr+"/healthz", ""); err == nil {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("serve exited: %v", err)
		case <-ctx.Done():
			t.Fatal("serve did not answer over HTTPS")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if got := serial(); got != 100 {
		t.Fatalf("certificate serial %d, want 100", got)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("plain HTTP answered 200 on the TLS address")
	}
	for _, tt := range []struct {
		url, token string
		want       int
	}{
		{"https://" + addr + "/metrics", "", http.StatusUnauthorized},
		{"https://" + addr + "/metrics", token, http.StatusOK},
		{"https://" + addr + "/v1/images", token, http.StatusForbidden},
		{"http://" + metricsAddr + "/metrics", "", http.StatusOK},
	} {
		resp, err := get(tt.url, tt.token)
		if err != nil || resp.StatusCode != tt.want {
			t.Errorf("GET %s (token %v): %v %v, want %d", tt.url, tt.token != "", resp, err, tt.want)
		}
	}

	renew(101)
	if err := srv.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for serial() != 101 {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not served within 10 s of SIGHUP")
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-exited:
		exited <- err
		t.Fatalf("serve exited after SIGHUP: %v", err)
	default:
	}
}
