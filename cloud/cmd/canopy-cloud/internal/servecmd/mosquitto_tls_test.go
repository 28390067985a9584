package servecmd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/accesscmd"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/cmdtest"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/internal/cli/clitest"
	"github.com/canopy-forest/canopy/internal/e2etest"
	"github.com/canopy-forest/canopy/internal/ulid"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// mosquittoBin finds Mosquitto; the test is skipped only where it is not
// installed (scripts/services.sh, which make test runs, installs it).
func mosquittoBin(t *testing.T) string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	t.Skip("mosquitto is not installed (scripts/services.sh installs it; make test runs it)")
	return ""
}

// lockedBuffer is a log sink that goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMosquittoClientCertificates: a Mosquitto of the test's own, with the
// files broker-config writes and a TLS listener that requires client
// certificates signed by the cloud's device CA and takes the certificate's
// common name as the identity (require_certificate, use_identity_as_username,
// the ACL keyed by it). A receiver (serve --broker ssl://... --mqtt-ca
// --mqtt-cert --mqtt-key) with the certificate device add --role receiver
// --cert issued stores a device's items and signs their receipts; a
// receiver without a certificate, and one whose certificate another CA
// signed, are refused; a device's certificate does not let it publish for
// another device.
func TestMosquittoClientCertificates(t *testing.T) {
	bin := mosquittoBin(t)
	dir := t.TempDir()
	data, creds, brokerDir := filepath.Join(dir, "data"), filepath.Join(dir, "creds"), filepath.Join(dir, "broker")
	for _, args := range [][]string{
		{"add", "recv-1", "--role", "receiver", "--cert"},
		{"add", "dev-a", "--cert"},
		{"add", "dev-b", "--cert"},
	} {
		clitest.CaptureStdout(t, func() error { return accesscmd.Device.Exec(append(args, "--out", creds, "--data", data)) })
	}
	// The broker's own certificate, from a CA of the test's.
	brokerCA := cmdtest.NewCA(t, "test broker CA")
	serverCert, serverKey := brokerCA.Issue(t, "127.0.0.1", 2, true)
	caFile := filepath.Join(dir, "broker-ca.pem")
	cmdtest.WriteFiles(t, map[string][]byte{caFile: brokerCA.PEM, filepath.Join(dir, "server.crt"): serverCert, filepath.Join(dir, "server.key"): serverKey})
	port, tlsPort := freePort(t), freePort(t)
	if err := accesscmd.BrokerConfig.Run([]string{"--out", brokerDir, "--data", data, "--compat-topic", "", "--port", fmt.Sprint(port),
		"--tls-port", fmt.Sprint(tlsPort), "--tls-cert", filepath.Join(dir, "server.crt"), "--tls-key", filepath.Join(dir, "server.key")}); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(brokerDir, "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"require_certificate true", "use_identity_as_username true"} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Fatalf("broker-config's mosquitto.conf lacks %q:\n%s", want, conf)
		}
	}
	if os.Geteuid() == 0 {
		conf = append(conf, "user root\n"...) // keep reading the test's files
	}
	conf = bytes.ReplaceAll(conf, []byte(fmt.Sprintf("listener %d\n", port)), []byte(fmt.Sprintf("listener %d 127.0.0.1\n", port)))
	conf = bytes.ReplaceAll(conf, []byte(fmt.Sprintf("listener %d\n", tlsPort)), []byte(fmt.Sprintf("listener %d 127.0.0.1\n", tlsPort)))
	cmdtest.WriteFiles(t, map[string][]byte{filepath.Join(brokerDir, "mosquitto.conf"): conf})
	var mqLog lockedBuffer
	mq := exec.Command(bin, "-c", filepath.Join(brokerDir, "mosquitto.conf"))
	mq.Stdout, mq.Stderr = &mqLog, &mqLog
	if err := mq.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mq.Process.Kill()
		mq.Wait()
		if t.Failed() {
			t.Logf("mosquitto:\n%s", mqLog.String())
		}
	})
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", tlsPort))
	broker := fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort)
	cred := func(name string) string { return filepath.Join(creds, name) }

	// Three receivers: with the certificate device add issued, with none,
	// and with one for the same name from another CA.
	otherCert, otherKey := cmdtest.NewCA(t, "not the device CA").Issue(t, "recv-1", 3, false)
	cmdtest.WriteFiles(t, map[string][]byte{cred("other.crt"): otherCert, cred("other.key"): otherKey})
	good := startReceiver(t, data, broker, config.BrokerTLS{CA: caFile, Cert: cred("recv-1.crt"), Key: cred("recv-1.key")})
	noCert := startReceiver(t, data, broker, config.BrokerTLS{CA: caFile})
	otherCA := startReceiver(t, data, broker, config.BrokerTLS{CA: caFile, Cert: cred("other.crt"), Key: cred("other.key")})
	good.waitReady(t)

	d, err := site.OpenDatabase(t.Context(), cmdtest.Config(data))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stored := func(device string) int {
		imgs, _, err := d.ListImages(t.Context(), db.ImageQuery{Device: device})
		if err != nil {
			t.Fatal(err)
		}
		return len(imgs)
	}
	cloudKey := strings.TrimSpace(string(must(os.ReadFile(cred("cloud.key")))))
	key, err := wire.ParseCloudKey(cloudKey)
	if err != nil {
		t.Fatal(err)
	}
	// dev-a's certificate claiming to be dev-b: its items are not stored.
	forged := startDevice(t, broker, "dev-b", caFile, cred("dev-a.crt"), cred("dev-a.key"), key, 1)
	// dev-a as itself: stored, receipts signed.
	honest := startDevice(t, broker, "dev-a", caFile, cred("dev-a.crt"), cred("dev-a.key"), key, 2)
	honest.waitDrained(t, 30*time.Second)
	if n := stored("dev-a"); n != 2 {
		t.Errorf("dev-a: %d items stored, want 2", n)
	}
	if st := honest.pub.Stats(); st.Acked != 2 || st.BadAcks != 0 {
		t.Errorf("dev-a publisher: %+v, want 2 signed receipts", st)
	}
	if n := stored("dev-b"); n != 0 || forged.pub.Stats().Acked != 0 {
		t.Errorf("dev-a's certificate published for dev-b: %d stored, %d acked", n, forged.pub.Stats().Acked)
	}
	// The broker refused both other receivers (they keep trying), and let
	// recv-1 in once: the good receiver.
	refusals := []string{"peer did not return a certificate", "certificate verify failed"}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(mqLog.String(), refusals[0]) || !strings.Contains(mqLog.String(), refusals[1]) {
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not log both refusals %q", refusals)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for name, r := range map[string]*receiver{"no certificate": noCert, "another CA's certificate": otherCA} {
		if r.ready() {
			t.Errorf("receiver with %s: connected to a require_certificate listener", name)
		}
	}
	logged := mqLog.String()
	if n := strings.Count(logged, "u'recv-1')"); n != 1 {
		t.Errorf("%d connections as recv-1, want 1 (the receiver with the device CA's certificate)", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func freePort(t *testing.T) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(e2etest.FreeAddr(t))
	var n int
	fmt.Sscan(p, &n)
	return n
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// receiver is canopy-cloud serve run in the test on an external broker.
type receiver struct {
	http string
	log  *lockedBuffer
}

func startReceiver(t *testing.T, data, broker string, tlsFiles config.BrokerTLS) *receiver {
	t.Helper()
	registerAPIFlags(flag.NewFlagSet("defaults", flag.ContinueOnError)) // the API flags' defaults
	c := cmdtest.Config(data)
	c.HTTP, c.Broker, c.MQTTTLS = e2etest.FreeAddr(t), broker, tlsFiles
	c.CompatTopic, c.Workers, c.IngestWorkers = "", 0, 1
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := &receiver{http: c.HTTP, log: &lockedBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c, slog.New(slog.NewTextHandler(r.log, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("receiver %s (client certificate %q):\n%s", r.http, tlsFiles.Cert, r.log.String())
		}
	})
	return r
}

// ready reports whether /readyz answers 200: the receiver is connected.
func (r *receiver) ready() bool {
	resp, err := http.Get("http://" + r.http + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (r *receiver) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !r.ready() {
		if time.Now().After(deadline) {
			t.Fatalf("receiver %s not ready within 20 s", r.http)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// device is a publisher with its own outbox, run in the test.
type device struct {
	pub *publish.Publisher
}

// startDevice puts n items of device in a new outbox and publishes them
// with the client certificate certFile.
func startDevice(t *testing.T, broker, dev, caFile, certFile, keyFile string, key []byte, n int) *device {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ids := ulid.NewGenerator(nil)
	for i := range n {
		id, err := ids.New(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		it := wire.Item{Meta: wire.Meta{ItemID: id, Device: dev, Seq: uint64(i + 1), CapturedAt: time.Now().UTC(), Width: 32, Height: 24},
			Parts: []wire.Part{{Name: wire.PartImage, ContentType: "image/jpeg", Data: testJPEG(t, i)}}}
		if err := ob.Put(t.Context(), it, outbox.Cursor{}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := publish.New(publish.Config{Broker: broker, Device: dev, CAFile: caFile, CertFile: certFile, KeyFile: keyFile,
		CloudKey: key, AckTimeout: 5 * time.Second, ConnectTimeout: 5 * time.Second, MaxBackoff: 2 * time.Second,
		FlushTimeout: time.Second, Version: "test"}, ob, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		ob.Close()
	})
	return &device{pub: p}
}

func (d *device) waitDrained(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ok, err := d.pub.Drained(); err != nil || ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained within %v: %+v", within, d.pub.Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testJPEG(t *testing.T, shade int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for i := 0; i < len(img.Pix); i += 4 {
		c := color.RGBA{uint8(20 * shade), 140, 40, 255}
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
