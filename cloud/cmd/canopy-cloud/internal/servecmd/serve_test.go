package servecmd

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/internal/e2etest"
)

// Under systemd (Type=notify) serve says READY=1 once it serves HTTP, and
// STOPPING=1 when it is told to stop; with --ingest off too (no broker).
func TestServeNotifiesSystemd(t *testing.T) {
	for _, ingest := range []string{config.IngestOn, config.IngestOff} {
		t.Run("ingest "+ingest, func(t *testing.T) { testServeNotifies(t, ingest) })
	}
}

func testServeNotifies(t *testing.T, ingest string) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	registerAPIFlags(flag.NewFlagSet("defaults", flag.ContinueOnError)) // the API flags' defaults

	c := config.DefaultServe()
	c.Data = filepath.Join(dir, "data")
	c.HTTP = e2etest.FreeAddr(t)
	c.MQTTListen = e2etest.FreeAddr(t)
	c.CompatTopic = ""
	c.Workers = 0
	c.Ingest = ingest
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c, slog.New(slog.DiscardHandler)) }()

	read := func() string {
		t.Helper()
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
	if msg := read(); !strings.Contains(msg, "READY=1") || !strings.Contains(msg, "STATUS=serving http://"+c.HTTP) {
		t.Fatalf("first notification %q, want READY=1 and a STATUS line", msg)
	}
	resp, err := http.Get("http://" + c.HTTP + "/healthz")
	if err != nil {
		t.Fatalf("READY=1 sent but /healthz does not answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	if ingest == config.IngestOff {
		// Ready without a broker, and none is listening.
		resp, err := http.Get("http://" + c.HTTP + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("/readyz with --ingest off: %v %v, want 200", resp, err)
		} else {
			resp.Body.Close()
		}
		if conn, err := net.Dial("tcp", c.MQTTListen); err == nil {
			conn.Close()
			t.Errorf("--ingest off, but something listens on %s", c.MQTTListen)
		}
	}
	cancel()
	if msg := read(); msg != "STOPPING=1" {
		t.Errorf("second notification %q, want STOPPING=1", msg)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// serve --config reads the flags from a YAML file; flags on the command
// line win, and every problem is reported.
func TestServeConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "cloud.yaml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		file string
		args []string
		want []string // substrings of the error
	}{
		{"unknown key", "htp: :80\nworkers: -1\n", nil, []string{"line 1: htp: unknown setting"}},
		{"values reach Validate", "http: nowhere\nlog-level: loud\n", nil, []string{`--http "nowhere"`, "--log-level"}},
		{"command line wins", "http: nowhere\n", []string{"--http", "also-bad"}, []string{`--http "also-bad"`}},
		{"missing file", "", []string{"--config", filepath.Join(dir, "none.yaml")}, []string{"config file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--config", write(tt.file)}, tt.args...)
			err := cmdServe(args)
			if err == nil {
				t.Fatalf("cmdServe(%q): got nil, want an error", args)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The config files that the .deb and the container image ship are read
// without complaint: only --http, made invalid here so that serve stops
// after reading them, is reported.
func TestShippedConfigFiles(t *testing.T) {
	for _, f := range []string{"../../../../deploy/cloud.yaml", "../../../../deploy/image/cloud.yaml"} {
		err := cmdServe([]string{"--config", f, "--http", "nowhere"})
		if err == nil || err.Error() != `--http "nowhere": want HOST:PORT: address nowhere: missing port in address` {
			t.Errorf("%s: %v, want only the --http error", f, err)
		}
	}
}
