package wire

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

func TestSignedAcks(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, otherPriv, _ := ed25519.GenerateKey(nil)
	_ = otherPub
	sha := strings.Repeat("ab", 32)
	good := SignAck(priv, "dev-a", Ack{ItemID: "I1", Status: AckStored, SHA256: sha})
	tests := []struct {
		name   string
		ack    Ack
		device string
		sha    string
		want   error // nil: verifies
	}{
		{"good", good, "dev-a", sha, nil},
		{"duplicate flag is not signed over", func() Ack { a := good; a.Duplicate = true; return a }(), "dev-a", sha, nil},
		{"unsigned", Ack{ItemID: "I1", Status: AckStored, SHA256: sha}, "dev-a", sha, ErrAckUnsigned},
		{"other key", SignAck(otherPriv, "dev-a", Ack{ItemID: "I1", Status: AckStored, SHA256: sha}), "dev-a", sha, ErrAckBadSignature},
		{"another device's ack", good, "dev-b", sha, ErrAckBadSignature},
		{"replayed for another item", func() Ack { a := good; a.ItemID = "I2"; return a }(), "dev-a", sha, ErrAckBadSignature},
		{"outcome changed", func() Ack { a := good; a.Status, a.Reason = AckRejected, ReasonBadItem; return a }(), "dev-a", sha, ErrAckBadSignature},
		{"wrong item hash", SignAck(priv, "dev-a", Ack{ItemID: "I1", Status: AckStored, SHA256: strings.Repeat("cd", 32)}), "dev-a", sha, ErrAckWrongDigest},
		{"malformed signature", func() Ack { a := good; a.Sig = "!!!"; return a }(), "dev-a", sha, ErrAckBadSignature},
		{"short signature", func() Ack { a := good; a.Sig = "AAAA"; return a }(), "dev-a", sha, ErrAckBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyAck(pub, tt.device, tt.ack, tt.sha)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("VerifyAck = %v, want %v", err, tt.want)
			}
		})
	}
	// A signed ack survives its JSON encoding.
	b, err := EncodeAck(good)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeAck(b)
	if err != nil || VerifyAck(pub, "dev-a", back, sha) != nil {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestCloudKeyText(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	s := FormatCloudKey(pub)
	if !strings.HasPrefix(s, CloudKeyPrefix) {
		t.Fatalf("FormatCloudKey = %q", s)
	}
	for _, in := range []string{s, strings.TrimPrefix(s, CloudKeyPrefix), " " + s + "\n"} {
		got, err := ParseCloudKey(in)
		if err != nil || !got.Equal(pub) {
			t.Errorf("ParseCloudKey(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ed25519:", "ed25519:AAAA", "not base64 !"} {
		if _, err := ParseCloudKey(bad); err == nil {
			t.Errorf("ParseCloudKey(%q): no error", bad)
		}
	}
}
