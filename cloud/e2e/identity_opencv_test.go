//go:build opencv

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestDeviceIdentityEndToEnd: with canopy-cloud serve running on its
// embedded broker, an unregistered client is refused; a device registered
// with `device add` connects with the printed credentials; `device revoke`
// (another process, the same database) disconnects it within seconds and
// it is refused from then on.
func TestDeviceIdentityEndToEnd(t *testing.T) {
	bin := binDir(t)
	httpAddr, mqttAddr, data := e2etest.FreeAddr(t), e2etest.FreeAddr(t), t.TempDir()
	cloud := start(t, nil, filepath.Join(bin, "canopy-cloud"), "serve", "--data", data, "--http", httpAddr, "--mqtt-listen", mqttAddr, "--auth=off", "--workers", "0")
	waitReady(t, httpAddr, cloud)
	url := "tcp://" + mqttAddr
	dial := func(id, user, pass string) (mqtt.Client, error) {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
		tok := c.Connect()
		tok.WaitTimeout(10 * time.Second)
		return c, tok.Error()
	}
	if _, err := dial("anon", "", ""); err == nil {
		t.Error("an anonymous client connected to the embedded broker")
	}
	cred := register(t, bin, "field-7", "--data", data)
	// The running cloud picks the new device up within its refresh period.
	var c mqtt.Client
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err = dial("field-7", cred.Username, cred.Password); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("registered device: %v\n%s", err, tail(cloud.log.String(), 2000))
	}
	if _, err := dial("field-7-bad", cred.Username, cred.Password+"x"); err == nil {
		t.Error("a wrong password connected")
	}
	out, err := exec.Command(filepath.Join(bin, "canopy-cloud"), "device", "revoke", "field-7", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("device revoke: %v: %s", err, out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for c.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c.IsConnectionOpen() {
		t.Fatal("revoked device still connected after 10 s")
	}
	if _, err := dial("field-7-again", cred.Username, cred.Password); err == nil {
		t.Error("revoked device connected again")
	}
	if !strings.Contains(cloud.log.String(), "mqtt client refused") {
		t.Error("the cloud's log does not say that it refused clients")
	}
}
