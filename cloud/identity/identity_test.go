package identity

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity/identitytest"
	"github.com/canopy-forest/canopy/sync/wire"
)

func TestPasswordHash(t *testing.T) {
	pw := NewPassword()
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$7$") || !CheckPassword(h, pw) {
		t.Fatalf("hash %q does not check %q", h, pw)
	}
	// Mosquitto's own tool (mosquitto_passwd, 2.0.11): alice / secret.
	const mosq = "$7$101$AWC22KIvegRQdE0l$WgdcojNTOuo4v8b8czOF1EGfJs2yVmfSPgxAejFDN0dR7NtK7vMdCj4xYYkAQAmVyqv2mJAOY/f7WMuYDI2uRA=="
	if !CheckPassword(mosq, "secret") {
		t.Error("a hash made by mosquitto_passwd does not check")
	}
	for _, tt := range []struct{ hash, pw string }{
		{h, pw + "x"}, {h, ""}, {mosq, "Secret"}, {"", pw}, {"$6$x$y", pw}, {"$7$abc$AAAA$AAAA", pw}, {"$7$0$AAAA$AAAA", pw},
	} {
		if CheckPassword(tt.hash, tt.pw) {
			t.Errorf("CheckPassword(%q, %q) = true", tt.hash, tt.pw)
		}
	}
}

func TestPolicy(t *testing.T) {
	pol := Policy{Topics: wire.Topics{Root: "canopy"}, Compat: []string{"canopy/compat/images"}}
	dev := Principal{Name: "pi-1", Role: db.RoleDevice}
	rcv := Principal{Name: "r1", Role: db.RoleReceiver}
	prod := Principal{Name: "old", Role: db.RoleProducer}
	tests := []struct {
		who   Principal
		topic string
		write bool
		want  bool
	}{
		{dev, "canopy/v1/pi-1/item", true, true},
		{dev, "canopy/v1/pi-1/status", true, true},
		{dev, "canopy/v1/pi-1/ack", false, true},
		{dev, "canopy/v1/pi-1/ack", true, false},  // a device cannot ack itself
		{dev, "canopy/v1/pi-2/item", true, false}, // another device's topic
		{dev, "canopy/v1/pi-2/ack", false, false}, // another device's acks
		{dev, "canopy/v1/+/ack", false, false},
		{dev, "canopy/v1/#", false, false},
		{dev, "canopy/v1/pi-1/item", false, false},
		{dev, "canopy/compat/images", true, false},
		{dev, "$SYS/broker/uptime", false, false},
		{dev, "canopy/v1/pi-1/fetch", true, true},
		{dev, "canopy/v1/pi-1/desired", false, true},
		{dev, "canopy/v1/pi-1/artifact", false, true},
		{dev, "canopy/v1/pi-1/desired", true, false},  // a device cannot state its own desired document
		{dev, "canopy/v1/pi-1/artifact", true, false}, // nor send itself chunks
		{dev, "canopy/v1/pi-2/desired", false, false}, // another device's document
		{dev, "canopy/v1/pi-2/fetch", true, false},
		{rcv, "$share/canopy/canopy/v1/+/fetch", false, true},
		{rcv, "canopy/v1/pi-1/desired", true, true},
		{rcv, "canopy/v1/pi-1/artifact", true, true},
		{rcv, "canopy/v1/+/desired", true, false},
		{dev, "other/v1/pi-1/item", true, false},
		{rcv, "$share/canopy/canopy/v1/+/item", false, true},
		{rcv, "canopy/v1/+/status", false, true},
		{rcv, "canopy/v1/pi-1/item", false, true}, // a delivery
		{rcv, "canopy/v1/pi-1/ack", true, true},
		{rcv, "canopy/v1/+/ack", true, false},
		{rcv, "canopy/v1/pi-1/item", true, false},
		{rcv, "canopy/compat/images", false, true},
		{rcv, "canopy/v1/#", false, false},
		{prod, "canopy/compat/images", true, true},
		{prod, "canopy/v1/pi-1/item", true, false},
		{Principal{Name: "x", Role: "admin"}, "canopy/v1/x/item", true, false},
	}
	for _, tt := range tests {
		if got := pol.Allow(tt.who, tt.topic, tt.write); got != tt.want {
			t.Errorf("%s %s write=%v: got %v, want %v", tt.who.Role, tt.topic, tt.write, got, tt.want)
		}
	}
}

// fakeCreds is a Credentials in memory.
type fakeCreds struct {
	mu sync.Mutex
	cs []db.Credential
}

func (f *fakeCreds) ListCredentials(context.Context) ([]db.Credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]db.Credential(nil), f.cs...), nil
}

func cred(t *testing.T, name, role, pw string) db.Credential {
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return db.Credential{Username: name, Role: role, PasswordHash: h, CreatedAt: time.Now()}
}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	store := &fakeCreds{cs: []db.Credential{cred(t, "pi-1", db.RoleDevice, "pw1"), cred(t, "r1", db.RoleReceiver, "pw2")}}
	r := NewRegistry(store, nil)
	if _, err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	r.AddInternal("self", "inner", db.RoleReceiver)
	for _, tt := range []struct {
		user, pw string
		want     error
		role     string
	}{
		{"pi-1", "pw1", nil, db.RoleDevice},
		{"r1", "pw2", nil, db.RoleReceiver},
		{"self", "inner", nil, db.RoleReceiver},
		{"pi-1", "pw1", nil, db.RoleDevice}, // again: from the cache
		{"pi-1", "wrong", ErrBadPassword, ""},
		{"self", "wrong", ErrBadPassword, ""},
		{"nobody", "pw1", ErrUnknown, ""},
		{"", "", ErrNoPassword, ""},
		{"pi-1", "", ErrNoPassword, ""},
	} {
		p, err := r.Authenticate(tt.user, tt.pw)
		if !errors.Is(err, tt.want) || (err == nil && p.Role != tt.role) {
			t.Errorf("Authenticate(%q, %q) = %+v, %v; want %s, %v", tt.user, tt.pw, p, err, tt.role, tt.want)
		}
	}
	// Revoked: refused, and reported by the next Refresh once.
	now := time.Now()
	store.mu.Lock()
	store.cs[0].RevokedAt = &now
	store.mu.Unlock()
	gone, err := r.Refresh(ctx)
	if err != nil || len(gone) != 1 || gone[0] != "pi-1" {
		t.Fatalf("Refresh after revoking = %v, %v; want [pi-1]", gone, err)
	}
	if _, err := r.Authenticate("pi-1", "pw1"); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked: %v, want ErrRevoked", err)
	}
	if _, err := r.Known("pi-1"); !errors.Is(err, ErrRevoked) {
		t.Errorf("Known(revoked): %v", err)
	}
	if gone, _ := r.Refresh(ctx); len(gone) != 0 {
		t.Errorf("second Refresh reported %v again", gone)
	}
}

func TestKeysAndCertificates(t *testing.T) {
	ctx := context.Background()
	store := &identitytest.Keys{}
	k1, err := LoadKeys(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKeys(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Signer.Equal(k2.Signer) || k1.Public() != k2.Public() || !k1.CA.Cert.Equal(k2.CA.Cert) {
		t.Fatal("keys differ between two loads of the same store")
	}
	if _, err := wire.ParseCloudKey(k1.Public()); err != nil {
		t.Errorf("Public %q: %v", k1.Public(), err)
	}
	cc, err := k1.CA.Issue("pi-1")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(cc.CertPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: k1.CA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("issued certificate does not verify against the CA: %v", err)
	}
	if cert.Subject.CommonName != "pi-1" || cc.Serial == "" {
		t.Errorf("certificate CN %q, serial %q", cert.Subject.CommonName, cc.Serial)
	}
}

func TestMosquittoFiles(t *testing.T) {
	now := time.Now()
	cs := []db.Credential{
		{Username: "pi-1", Role: db.RoleDevice, PasswordHash: "$7$1$a$b"},
		{Username: "gone", Role: db.RoleDevice, PasswordHash: "$7$1$c$d", RevokedAt: &now},
		{Username: "r1", Role: db.RoleReceiver, PasswordHash: "$7$1$e$f"},
		{Username: "old", Role: db.RoleProducer, PasswordHash: "$7$1$g$h"},
	}
	pw, acl := MosquittoFiles(cs, Policy{Topics: wire.Topics{Root: "fr"}, Compat: []string{"fr/compat"}})
	if string(pw) != "pi-1:$7$1$a$b\nr1:$7$1$e$f\nold:$7$1$g$h\n" {
		t.Errorf("password file:\n%s", pw)
	}
	for _, want := range []string{"pattern write fr/v1/%u/item", "pattern read fr/v1/%u/ack", "user r1\ntopic read fr/v1/+/item", "topic write fr/v1/+/ack", "user old\ntopic write fr/compat"} {
		if !strings.Contains(string(acl), want) {
			t.Errorf("ACL file lacks %q:\n%s", want, acl)
		}
	}
	if strings.Contains(string(acl), "gone") {
		t.Error("ACL names a revoked identity")
	}
}
