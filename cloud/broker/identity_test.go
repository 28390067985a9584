package broker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/cloud/identity/identitytest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// creds is an in-memory credential store.
type creds struct {
	mu sync.Mutex
	cs []db.Credential
}

func (c *creds) ListCredentials(context.Context) ([]db.Credential, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]db.Credential(nil), c.cs...), nil
}

func (c *creds) add(t *testing.T, name, role, pw string) {
	h, err := identity.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.cs = append(c.cs, db.Credential{Username: name, Role: role, PasswordHash: h, CreatedAt: time.Now()})
	c.mu.Unlock()
}

func (c *creds) revoke(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for i := range c.cs {
		if c.cs[i].Username == name {
			c.cs[i].RevokedAt = &now
		}
	}
}

type idEnv struct {
	b     *Broker
	store *creds
	reg   *identity.Registry
	keys  *identity.Keys
}

func startWithIdentity(t *testing.T, clientCerts string) *idEnv {
	t.Helper()
	store := &creds{}
	store.add(t, "dev-a", db.RoleDevice, "pa")
	store.add(t, "dev-b", db.RoleDevice, "pb")
	store.add(t, "recv", db.RoleReceiver, "pr")
	reg := identity.NewRegistry(store, nil)
	if _, err := reg.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys, err := identity.LoadKeys(context.Background(), &identitytest.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	cert := serverCert(t)
	b, err := New(Config{Addr: "127.0.0.1:0", Registry: reg, Policy: identity.Policy{Topics: wire.Topics{Root: "canopy"}},
		TLSAddr: "127.0.0.1:0", TLSCert: &cert, ClientCerts: clientCerts, ClientCA: keys.CA.Pool()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &idEnv{b: b, store: store, reg: reg, keys: keys}
}

// dial connects once (no retries) and returns the client and the error.
func dial(t *testing.T, url, id, user, pass string, tc *tls.Config) (mqtt.Client, error) {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false)
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("connect %s: timed out", id)
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(50) })
	}
	return c, tok.Error()
}

func TestIdentityEnforced(t *testing.T) {
	e := startWithIdentity(t, ClientCertsOff)
	for _, tt := range []struct{ name, user, pass string }{
		{"anonymous", "", ""},
		{"wrong password", "dev-a", "nope"},
		{"unknown device", "dev-z", "pa"},
	} {
		if _, err := dial(t, e.b.URL(), "x-"+tt.name, tt.user, tt.pass, nil); err == nil {
			t.Errorf("%s: connected, want refused", tt.name)
		}
	}
	recv, err := dial(t, e.b.URL(), "recv", "recv", "pr", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	tok := recv.Subscribe("$share/canopy/canopy/v1/+/item", 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("receiver subscribe: %v", tok.Error())
	}
	a, err := dial(t, e.b.URL(), "dev-a", "dev-a", "pa", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Its own topic: delivered.
	a.Publish("canopy/v1/dev-a/item", 1, false, []byte("x")).WaitTimeout(5 * time.Second)
	select {
	case tp := <-got:
		if tp != "canopy/v1/dev-a/item" {
			t.Errorf("got %s", tp)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a device's own item did not reach the receiver")
	}
	// Another device's acks: the subscription is refused.
	st := a.Subscribe("canopy/v1/dev-b/ack", 1, func(mqtt.Client, mqtt.Message) {})
	st.WaitTimeout(5 * time.Second)
	if res := st.(*mqtt.SubscribeToken).Result(); res["canopy/v1/dev-b/ack"] != 0x80 {
		t.Errorf("subscribing to another device's acks: result %v, want 0x80 (refused)", res)
	}
	// Another device's item topic: nothing reaches the receiver, and the
	// client is disconnected (MQTT 3.1.1 has no negative PUBACK).
	a.Publish("canopy/v1/dev-b/item", 1, false, []byte("forged")).WaitTimeout(2 * time.Second)
	select {
	case tp := <-got:
		t.Errorf("forged publish delivered on %s", tp)
	case <-time.After(time.Second):
	}
	if a.IsConnectionOpen() {
		t.Error("a device publishing on another device's topic is still connected")
	}
	// A device cannot publish acks.
	b, err := dial(t, e.b.URL(), "dev-b", "dev-b", "pb", nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Publish("canopy/v1/dev-b/ack", 1, false, []byte(`{"item_id":"x","status":"stored"}`)).WaitTimeout(2 * time.Second)
	time.Sleep(200 * time.Millisecond)
	if b.IsConnectionOpen() {
		t.Error("a device publishing an ack is still connected")
	}
}

func TestRevokedDisconnected(t *testing.T) {
	e := startWithIdentity(t, ClientCertsOff)
	a, err := dial(t, e.b.URL(), "dev-a", "dev-a", "pa", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.store.revoke("dev-a")
	gone, err := e.reg.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.b.Revoke(gone)
	deadline := time.Now().Add(5 * time.Second)
	for a.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if a.IsConnectionOpen() {
		t.Fatal("revoked device still connected")
	}
	if _, err := dial(t, e.b.URL(), "dev-a2", "dev-a", "pa", nil); err == nil {
		t.Error("revoked device connected again")
	}
	if _, err := dial(t, e.b.URL(), "dev-b", "dev-b", "pb", nil); err != nil {
		t.Errorf("another device after a revocation: %v", err)
	}
}

func TestTLSClientCertificates(t *testing.T) {
	e := startWithIdentity(t, ClientCertsRequire)
	url := "ssl://" + e.b.TLSAddr()
	roots := x509.NewCertPool()
	cert := serverCert(t)
	roots.AddCert(cert.Leaf)
	issued, err := e.keys.CA.Issue("dev-a")
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}, ServerName: "127.0.0.1"}
	if _, err := dial(t, url, "dev-a", "", "", withCert); err != nil {
		t.Fatalf("a device with its certificate: %v", err)
	}
	if _, err := dial(t, url, "dev-a-x", "dev-b", "", withCert); err == nil {
		t.Error("a certificate of dev-a claiming to be dev-b connected")
	}
	if _, err := dial(t, url, "nocert", "dev-b", "pb", &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}); err == nil {
		t.Error("a client without a certificate connected to a listener that requires one")
	}
	e.store.revoke("dev-a")
	if _, err := e.reg.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, url, "dev-a-again", "", "", withCert); err == nil {
		t.Error("the certificate of a revoked device connected")
	}
}

// serverCert is one self-signed certificate for 127.0.0.1, the same for
// every test of the package.
var serverCert = func() func(t *testing.T) tls.Certificate {
	var once sync.Once
	var c tls.Certificate
	return func(t *testing.T) tls.Certificate {
		once.Do(func() {
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "broker"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
				IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				KeyUsage: x509.KeyUsageDigitalSignature}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				panic(err)
			}
			leaf, _ := x509.ParseCertificate(der)
			c = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		})
		return c
	}
}()
