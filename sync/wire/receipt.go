package wire

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Signed receipts. The cloud signs every ack with its Ed25519 key, over the
// device, the item id, the outcome (status and reason) and the item's
// SHA-256, so that a device can prove that the cloud, not someone else on
// the broker, acknowledged exactly this item. A device given the cloud's
// public key acts only on acks whose signature verifies and whose SHA-256
// is the one of the item it sent (docs/protocol.md, "Signed receipts").

// CloudKeyPrefix starts the text form of a cloud public key.
const CloudKeyPrefix = "ed25519:"

// Errors of VerifyAck. Each is a reason to ignore the ack.
var (
	// ErrAckUnsigned: the ack carries no signature.
	ErrAckUnsigned = errors.New("ack is not signed")
	// ErrAckBadSignature: the signature does not verify with the cloud's
	// key (another key, or a changed ack).
	ErrAckBadSignature = errors.New("ack signature does not verify")
	// ErrAckWrongDigest: the ack names another SHA-256 than the item's.
	ErrAckWrongDigest = errors.New("ack is for other content than the item")
)

// ackMessage is the byte string an ack's signature covers.
func ackMessage(device string, a Ack) []byte {
	return []byte(strings.Join([]string{"canopy-ack-v1", device, a.ItemID, a.Status, a.Reason, a.SHA256}, "\x00"))
}

// SignAck returns a with its Sig set: the signature by key of the ack for
// device (a.SHA256 must be set to the item's SHA-256 when known).
func SignAck(key ed25519.PrivateKey, device string, a Ack) Ack {
	a.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, ackMessage(device, a)))
	return a
}

// VerifyAck checks that a, received on device's ack topic, was signed by
// the holder of key and names the SHA-256 sha of the item the device sent.
func VerifyAck(key ed25519.PublicKey, device string, a Ack, sha string) error {
	if a.Sig == "" {
		return ErrAckUnsigned
	}
	sig, err := base64.StdEncoding.DecodeString(a.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: malformed signature", ErrAckBadSignature)
	}
	if !ed25519.Verify(key, ackMessage(device, a), sig) {
		return ErrAckBadSignature
	}
	if a.SHA256 != sha {
		return fmt.Errorf("%w: ack names %.12s..., item is %.12s...", ErrAckWrongDigest, a.SHA256, sha)
	}
	return nil
}

// FormatCloudKey is the text form of a cloud public key: "ed25519:" and
// the key in standard base64.
func FormatCloudKey(key ed25519.PublicKey) string {
	return CloudKeyPrefix + base64.StdEncoding.EncodeToString(key)
}

// ParseCloudKey reads a cloud public key in the form FormatCloudKey
// writes (the "ed25519:" prefix may be left out; URL-safe base64 is
// accepted too).
func ParseCloudKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), CloudKeyPrefix))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("cloud key: %d bytes, want %d (an Ed25519 public key)", len(b), ed25519.PublicKeySize)
			}
			return ed25519.PublicKey(b), nil
		}
	}
	return nil, errors.New("cloud key: not base64 (want ed25519:BASE64, as `canopy-cloud device add` prints it)")
}
