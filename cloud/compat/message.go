package compat

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Device is the device id of every compat item.
const Device = "compat"

// DefaultMaxBytes is the largest decoded image accepted.
const DefaultMaxBytes = 32 << 20

// maxNameLen bounds the kept image name.
const maxNameLen = 128

// Message is a decoded compat message.
type Message struct {
	Image []byte // the image file's bytes
	Name  string // the sent image_name, cleaned; may be ""
}

type jsonMessage struct {
	Image         *string `json:"image"`
	ImageMetadata struct {
		ImageName string `json:"image_name"`
	} `json:"image_metadata"`
}

// Decode parses a compat message. maxBytes bounds the decoded image (0:
// DefaultMaxBytes). Every error is an *ingest.RejectError: a message that
// fails here fails every time.
func Decode(b []byte, maxBytes int) (Message, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	// base64 is 4/3 of the bytes; allow for the JSON around it.
	if len(b) > maxBytes/3*4+64<<10 {
		return Message{}, &ingest.RejectError{Reason: ingest.ReasonTooLarge, Detail: fmt.Sprintf("message of %d bytes", len(b))}
	}
	var jm jsonMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&jm); err != nil {
		return Message{}, &ingest.RejectError{Reason: ReasonBadJSON, Detail: err.Error()}
	}
	if dec.More() {
		return Message{}, &ingest.RejectError{Reason: ReasonBadJSON, Detail: "data after the JSON object"}
	}
	if jm.Image == nil || *jm.Image == "" {
		return Message{}, &ingest.RejectError{Reason: ReasonBadJSON, Detail: `no "image"`}
	}
	s := *jm.Image
	if strings.HasPrefix(s, "data:") { // a data URL: keep what follows the comma
		if _, rest, ok := strings.Cut(s, ","); ok {
			s = rest
		}
	}
	img, err := decodeBase64(s)
	if err != nil {
		return Message{}, &ingest.RejectError{Reason: ReasonBadBase64, Detail: err.Error()}
	}
	if len(img) > maxBytes {
		return Message{}, &ingest.RejectError{Reason: ingest.ReasonTooLarge, Detail: fmt.Sprintf("image of %d bytes, limit %d", len(img), maxBytes)}
	}
	if len(img) == 0 {
		return Message{}, &ingest.RejectError{Reason: ReasonBadBase64, Detail: "empty image"}
	}
	return Message{Image: img, Name: CleanName(jm.ImageMetadata.ImageName)}, nil
}

// Reasons specific to compat messages (the others are ingest's).
const (
	ReasonBadJSON   = "bad_json"
	ReasonBadBase64 = "bad_base64"
)

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune { // producers wrap lines
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return nil, err
}

// CleanName keeps a sent file name safe to store and show: its base name
// (either slash), only [A-Za-z0-9._-] (others become '_'), no leading dots,
// at most 128 bytes.
func CleanName(s string) string {
	s = strings.ReplaceAll(s, `\`, "/")
	s = path.Base(s)
	if s == "." || s == "/" {
		return ""
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if len(out) > maxNameLen {
		out = out[:maxNameLen]
	}
	return out
}

// Item makes the item of m, received at now: its id is the SHA-256 of the
// image, hex.
func Item(m Message, now time.Time) wire.Item {
	sum := sha256.Sum256(m.Image)
	id := hex.EncodeToString(sum[:])
	return wire.Item{
		Meta: wire.Meta{
			ItemID:     id,
			Device:     Device,
			CapturedAt: now.UTC(), // unknown: the time it was received
			Source:     m.Name,
		},
		Parts: []wire.Part{{Name: wire.PartImage, Data: m.Image}},
	}
}

// SaveOptions are the ingest options of a compat item: content-addressed keys.
func SaveOptions(it wire.Item) ingest.SaveOptions {
	return ingest.SaveOptions{Origin: ingest.OriginCompat, KeyPrefix: Device + "/" + it.Meta.ItemID}
}
