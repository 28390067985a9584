package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Outcomes of an item in an Ack.
const (
	AckStored   = "stored"
	AckRejected = "rejected"
)

// Ack is the receiver's answer for one item, published on Topics.Ack. A
// device removes the item from its outbox on "stored" and moves it to its
// dead letters on "rejected".
type Ack struct {
	ItemID    string `json:"item_id"`
	Status    string `json:"status"`              // AckStored or AckRejected
	Reason    string `json:"reason,omitempty"`    // for AckRejected: a Reason constant
	Duplicate bool   `json:"duplicate,omitempty"` // stored before: this is a redelivery
	// SHA256 is the item's SHA-256 (lower-case hex) as the cloud received
	// it; Sig the cloud's Ed25519 signature (standard base64) over the
	// device, item id, status, reason and SHA256 (SignAck, VerifyAck).
	SHA256 string `json:"sha256,omitempty"`
	Sig    string `json:"sig,omitempty"`
}

// EncodeAck encodes a as JSON.
func EncodeAck(a Ack) ([]byte, error) {
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("encode ack: %w", err)
	}
	return json.Marshal(a)
}

// DecodeAck decodes and checks an ack. Unknown fields are ignored.
func DecodeAck(b []byte) (Ack, error) {
	var a Ack
	if err := decodeJSON(b, &a); err != nil {
		return Ack{}, fmt.Errorf("decode ack: %w", err)
	}
	if err := a.validate(); err != nil {
		return Ack{}, fmt.Errorf("decode ack: %w", err)
	}
	return a, nil
}

func (a *Ack) validate() error {
	if err := ValidItemID(a.ItemID); err != nil {
		return err
	}
	switch a.Status {
	case AckStored:
	case AckRejected:
		if a.Reason == "" {
			return fmt.Errorf("rejected item %s without a reason", a.ItemID)
		}
	default:
		return fmt.Errorf("status %q: want %q or %q", a.Status, AckStored, AckRejected)
	}
	if a.SHA256 != "" && !isHex64(a.SHA256) {
		return fmt.Errorf("ack of %s: sha256 is not 64 lower-case hex digits", a.ItemID)
	}
	if len(a.Sig) > 200 {
		return fmt.Errorf("ack of %s: signature too long", a.ItemID)
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}
