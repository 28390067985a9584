package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Desired state. The cloud states, per device, the configuration and the
// model it wants the device to run in a Desired document, signs it with the
// same Ed25519 key as its acks and publishes it retained on the device's
// desired topic. The device verifies it with the cloud's public key, and
// decides by itself whether to apply it (docs/protocol.md, "Desired
// state").

// Limits of a desired document and of the artifacts it names.
const (
	// MaxDesiredBytes is the largest desired message (envelope) accepted.
	MaxDesiredBytes = 64 << 10
	// MaxArtifactBytes is the largest artifact a document may name.
	MaxArtifactBytes = 1 << 30
	// DefaultArtifactChunk is the body bytes of an artifact chunk: with
	// its header, a chunk frame stays within DefaultChunkSize.
	DefaultArtifactChunk = DefaultChunkSize - 8<<10
	// MinArtifactChunk is the smallest chunk size a document may name.
	MinArtifactChunk = 1 << 10
)

// Errors of OpenDesired. Each is a reason to refuse the document.
var (
	// ErrDesiredUnsigned: the document carries no signature, or the device
	// has no cloud key to check one with.
	ErrDesiredUnsigned = errors.New("desired document is not signed")
	// ErrDesiredBadSignature: the signature does not verify with the
	// cloud's key (another key, or a changed document).
	ErrDesiredBadSignature = errors.New("desired document signature does not verify")
	// ErrDesiredOtherDevice: a genuine document, for another device.
	ErrDesiredOtherDevice = errors.New("desired document is for another device")
	// ErrDesiredMalformed: not a desired message, or a document that breaks
	// the protocol's rules.
	ErrDesiredMalformed = errors.New("malformed desired document")
)

// Desired is what the cloud wants one device to run.
type Desired struct {
	Device string `json:"device"`
	// Version increases with every change for this device (from 1). A
	// device never applies a version older than the one it runs.
	Version int64     `json:"version"`
	Issued  time.Time `json:"issued_at"`
	// Rollout names the rollout that set this version, if any.
	Rollout string `json:"rollout,omitempty"`
	// Config overrides keys of the agent's YAML config: a JSON object
	// such as {"select": {"min_share": 0.1}} (absent: none).
	Config json.RawMessage `json:"config,omitempty"`
	// Model is the segmentation model to run (nil: the device's own).
	Model *ModelRef `json:"model,omitempty"`
}

// ModelRef names an artifact: its digest, size and how it is cut into
// chunks for delivery over MQTT.
type ModelRef struct {
	SHA256 string `json:"sha256"` // lower-case hex SHA-256 of the whole file
	Size   int64  `json:"size"`
	// ChunkSize is the body bytes of every chunk but the last.
	ChunkSize int    `json:"chunk_size"`
	Name      string `json:"name,omitempty"` // a file name, for people
}

// Chunks is the number of chunks of the artifact.
func (m ModelRef) Chunks() int {
	if m.Size == 0 || m.ChunkSize <= 0 {
		return 0
	}
	return int((m.Size + int64(m.ChunkSize) - 1) / int64(m.ChunkSize))
}

// ChunkLen is the body length of chunk i.
func (m ModelRef) ChunkLen(i int) int {
	off := int64(i) * int64(m.ChunkSize)
	return int(min(int64(m.ChunkSize), m.Size-off))
}

func (m ModelRef) validate() error {
	switch {
	case !isHex64(m.SHA256):
		return errors.New("model sha256 is not 64 lower-case hex digits")
	case m.Size < 1 || m.Size > MaxArtifactBytes:
		return fmt.Errorf("model size %d outside 1..%d", m.Size, MaxArtifactBytes)
	case m.ChunkSize < MinArtifactChunk || m.ChunkSize > DefaultArtifactChunk:
		return fmt.Errorf("model chunk size %d outside %d..%d", m.ChunkSize, MinArtifactChunk, DefaultArtifactChunk)
	case m.Chunks() > MaxChunks:
		return fmt.Errorf("model of %d chunks, more than %d", m.Chunks(), MaxChunks)
	case len(m.Name) > 256:
		return errors.New("model name too long")
	}
	return nil
}

func (d *Desired) validate() error {
	if err := ValidDevice(d.Device); err != nil {
		return err
	}
	if d.Version < 1 {
		return fmt.Errorf("version %d: want 1 or more", d.Version)
	}
	if len(d.Rollout) > 64 {
		return errors.New("rollout name too long")
	}
	if len(d.Config) > 0 {
		if c := bytes.TrimSpace(d.Config); len(c) == 0 || c[0] != '{' {
			return errors.New("config is not a JSON object")
		}
	}
	if d.Model != nil {
		if err := d.Model.validate(); err != nil {
			return err
		}
	}
	return nil
}

// envelope is the message on the desired topic: the document's JSON
// bytes, and the signature over them.
type envelope struct {
	Doc []byte `json:"doc"` // standard base64 of the document's JSON
	Sig string `json:"sig"` // standard base64 of the Ed25519 signature
}

// desiredMessage is the byte string a desired document's signature covers.
func desiredMessage(doc []byte) []byte {
	return append([]byte("canopy-desired-v1\x00"), doc...)
}

// SignDesired encodes d and signs it with key: the payload to publish,
// retained, on Topics.Desired(d.Device).
func SignDesired(key ed25519.PrivateKey, d Desired) ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("sign desired document: %w", err)
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("sign desired document: %w", err)
	}
	sig := ed25519.Sign(key, desiredMessage(doc))
	b, err := json.Marshal(envelope{Doc: doc, Sig: base64.StdEncoding.EncodeToString(sig)})
	if err != nil {
		return nil, fmt.Errorf("sign desired document: %w", err)
	}
	if len(b) > MaxDesiredBytes {
		return nil, fmt.Errorf("sign desired document: %d bytes, more than %d", len(b), MaxDesiredBytes)
	}
	return b, nil
}

// DecodeDesired reads a desired message without checking its signature:
// the document, and the signature (nil when there is none). Use
// OpenDesired to act on one.
func DecodeDesired(payload []byte) (Desired, []byte, error) {
	d, _, sig, err := decodeDesired(payload)
	return d, sig, err
}

// decodeDesired is DecodeDesired that also returns the signed bytes.
func decodeDesired(payload []byte) (d Desired, doc, sig []byte, err error) {
	if len(payload) > MaxDesiredBytes {
		return Desired{}, nil, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrDesiredMalformed, len(payload), MaxDesiredBytes)
	}
	var e envelope
	if err := decodeJSON(payload, &e); err != nil {
		return Desired{}, nil, nil, fmt.Errorf("%w: %v", ErrDesiredMalformed, err)
	}
	if err := decodeJSON(e.Doc, &d); err != nil {
		return Desired{}, nil, nil, fmt.Errorf("%w: document: %v", ErrDesiredMalformed, err)
	}
	if err := d.validate(); err != nil {
		return Desired{}, nil, nil, fmt.Errorf("%w: %v", ErrDesiredMalformed, err)
	}
	if e.Sig == "" {
		return d, e.Doc, nil, nil
	}
	sig, err = base64.StdEncoding.DecodeString(e.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return d, e.Doc, nil, fmt.Errorf("%w: malformed signature", ErrDesiredBadSignature)
	}
	return d, e.Doc, sig, nil
}

// OpenDesired decodes a desired message that device received and checks
// that key signed it and that it names device. The errors wrap
// ErrDesiredMalformed, ErrDesiredUnsigned, ErrDesiredBadSignature or
// ErrDesiredOtherDevice; with the last three the document is returned
// too, for the log.
func OpenDesired(payload []byte, key ed25519.PublicKey, device string) (Desired, error) {
	d, doc, sig, err := decodeDesired(payload)
	if err != nil {
		return d, err
	}
	if sig == nil || len(key) != ed25519.PublicKeySize {
		return d, ErrDesiredUnsigned
	}
	if !ed25519.Verify(key, desiredMessage(doc), sig) {
		return d, ErrDesiredBadSignature
	}
	if d.Device != device {
		return d, fmt.Errorf("%w: it names %q", ErrDesiredOtherDevice, d.Device)
	}
	return d, nil
}
