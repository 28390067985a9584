package identity

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

// TestMosquittoEnforcesPolicy starts a second, real Mosquitto on a free
// port with the files MosquittoFiles and MosquittoConf write, and checks
// the policy there: anonymous clients, wrong passwords and revoked devices
// are refused; a device cannot publish on another device's topics or read
// its acks; a receiver reads every device's items through a shared
// subscription and publishes acks.
func TestMosquittoEnforcesPolicy(t *testing.T) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/mosquitto"); err2 != nil {
			t.Skip("mosquitto is not installed (make test installs it)")
		}
		bin = "/usr/sbin/mosquitto"
	}
	pol := Policy{Topics: wire.Topics{Root: "canopy"}, Compat: []string{"canopy/compat/images"}}
	now := time.Now()
	cs := []db.Credential{cred(t, "dev-a", db.RoleDevice, "pa"), cred(t, "dev-b", db.RoleDevice, "pb"),
		cred(t, "recv", db.RoleReceiver, "pr"), cred(t, "gone", db.RoleDevice, "pg")}
	cs[3].RevokedAt = &now
	dir := t.TempDir()
	passwd, acl := MosquittoFiles(cs, pol)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := MosquittoConf(dir, port, nil)
	if os.Geteuid() == 0 {
		conf += "user root\n"
	}
	for name, body := range map[string][]byte{"canopy.passwd": passwd, "canopy.acl": acl, "mosquitto.conf": []byte(conf)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "mosquitto.conf"))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", log.String())
		}
	})
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("mosquitto did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	connect := func(id, user, pass string) (mqtt.Client, error) {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
		tok := c.Connect()
		tok.WaitTimeout(10 * time.Second)
		if tok.Error() == nil {
			t.Cleanup(func() { c.Disconnect(50) })
		}
		return c, tok.Error()
	}
	for _, tt := range []struct{ name, user, pass string }{
		{"anonymous", "", ""}, {"wrong password", "dev-a", "nope"}, {"revoked", "gone", "pg"}, {"unknown", "who", "pa"},
	} {
		if _, err := connect("x-"+tt.user, tt.user, tt.pass); err == nil {
			t.Errorf("%s: connected, want refused", tt.name)
		}
	}
	recv, err := connect("recv", "recv", "pr")
	if err != nil {
		t.Fatalf("receiver: %v", err)
	}
	items := make(chan string, 10)
	if tok := recv.Subscribe("$share/canopy/canopy/v1/+/item", 1, func(_ mqtt.Client, m mqtt.Message) { items <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	a, err := connect("dev-a", "dev-a", "pa")
	if err != nil {
		t.Fatalf("device a: %v", err)
	}
	b, err := connect("dev-b", "dev-b", "pb")
	if err != nil {
		t.Fatalf("device b: %v", err)
	}
	acksOfB := make(chan string, 10)
	a.Subscribe("canopy/v1/dev-b/ack", 1, func(_ mqtt.Client, m mqtt.Message) { acksOfB <- string(m.Payload()) }).WaitTimeout(5 * time.Second)
	acksOfOwn := make(chan string, 10)
	b.Subscribe("canopy/v1/dev-b/ack", 1, func(_ mqtt.Client, m mqtt.Message) { acksOfOwn <- string(m.Payload()) }).WaitTimeout(5 * time.Second)

	a.Publish("canopy/v1/dev-b/item", 1, false, "forged by a").WaitTimeout(5 * time.Second)
	a.Publish("canopy/v1/dev-a/item", 1, false, "a's own").WaitTimeout(5 * time.Second)
	select {
	case got := <-items:
		if got != "a's own" {
			t.Errorf("the receiver got %q, want only a's own item", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a device's own item did not reach the receiver")
	}
	recv.Publish("canopy/v1/dev-b/ack", 1, false, "ack for b").WaitTimeout(5 * time.Second)
	select {
	case got := <-acksOfOwn:
		if got != "ack for b" {
			t.Errorf("b got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b did not get its ack from the receiver")
	}
	// Desired state: the receiver states b's desired document (retained)
	// and sends it chunks; b asks for chunks; a reads none of it and
	// cannot state b's document.
	desiredOfB := make(chan string, 10)
	a.Subscribe("canopy/v1/dev-b/desired", 1, func(_ mqtt.Client, m mqtt.Message) { desiredOfB <- string(m.Payload()) }).WaitTimeout(5 * time.Second)
	ownDesired := make(chan string, 10)
	b.Subscribe("canopy/v1/dev-b/desired", 1, func(_ mqtt.Client, m mqtt.Message) { ownDesired <- string(m.Payload()) }).WaitTimeout(5 * time.Second)
	fetches := make(chan string, 10)
	recv.Subscribe("$share/canopy/canopy/v1/+/fetch", 1, func(_ mqtt.Client, m mqtt.Message) { fetches <- string(m.Payload()) }).WaitTimeout(5 * time.Second)
	a.Publish("canopy/v1/dev-b/desired", 1, true, "forged by a").WaitTimeout(5 * time.Second)
	recv.Publish("canopy/v1/dev-b/desired", 1, true, "the cloud's").WaitTimeout(5 * time.Second)
	b.Publish("canopy/v1/dev-b/fetch", 1, false, "chunks please").WaitTimeout(5 * time.Second)
	for _, want := range []struct {
		c    chan string
		what string
	}{{ownDesired, "the cloud's"}, {fetches, "chunks please"}} {
		select {
		case got := <-want.c:
			if got != want.what {
				t.Errorf("got %q, want %q", got, want.what)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q did not arrive", want.what)
		}
	}
	t.Cleanup(func() { recv.Publish("canopy/v1/dev-b/desired", 1, true, []byte{}).WaitTimeout(5 * time.Second) })
	a.Publish("canopy/v1/dev-b/ack", 1, false, "ack forged by a").WaitTimeout(5 * time.Second)
	select {
	case got := <-items:
		t.Errorf("the receiver got %q from a forged publish", got)
	case got := <-acksOfB:
		t.Errorf("device a read b's ack %q", got)
	case got := <-acksOfOwn:
		t.Errorf("b got an ack forged by a: %q", got)
	case got := <-desiredOfB:
		t.Errorf("device a read b's desired document %q", got)
	case got := <-ownDesired:
		t.Errorf("b got a desired document forged by a: %q", got)
	case <-time.After(time.Second):
	}
}
