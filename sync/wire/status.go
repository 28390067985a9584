package wire

import (
	"encoding/json"
	"fmt"
	"time"
)

// Device states in a Status.
const (
	StateOnline  = "online"
	StateOffline = "offline"
)

// Status is a device's retained status message on Topics.Status; the
// offline form is also its MQTT last will.
type Status struct {
	Device           string    `json:"device"`
	State            string    `json:"state"` // StateOnline or StateOffline
	OutboxDepth      int       `json:"outbox_depth"`
	OutboxBytes      int64     `json:"outbox_bytes"`
	OldestAgeSeconds float64   `json:"oldest_age_seconds"`
	Evictions        int64     `json:"evictions,omitempty"`        // images dropped by the outbox's byte bound, ever
	Refused          int64     `json:"refused,omitempty"`          // items the full outbox refused, ever
	MaxBytes         int64     `json:"outbox_max_bytes,omitempty"` // the outbox's byte bound
	DeadLetters      int       `json:"dead_letters,omitempty"`     // items rejected by the cloud, held on the device
	Version          string    `json:"version,omitempty"`
	Time             time.Time `json:"time"`
}

// EncodeStatus encodes s as JSON.
func EncodeStatus(s Status) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("encode status: %w", err)
	}
	return json.Marshal(s)
}

// DecodeStatus decodes and checks a status message. Unknown fields are
// ignored.
func DecodeStatus(b []byte) (Status, error) {
	var s Status
	if err := decodeJSON(b, &s); err != nil {
		return Status{}, fmt.Errorf("decode status: %w", err)
	}
	if err := s.validate(); err != nil {
		return Status{}, fmt.Errorf("decode status: %w", err)
	}
	return s, nil
}

func (s *Status) validate() error {
	if err := ValidDevice(s.Device); err != nil {
		return err
	}
	if s.State != StateOnline && s.State != StateOffline {
		return fmt.Errorf("state %q: want %q or %q", s.State, StateOnline, StateOffline)
	}
	if s.OutboxDepth < 0 || s.OutboxBytes < 0 || s.OldestAgeSeconds < 0 || s.Evictions < 0 || s.Refused < 0 || s.MaxBytes < 0 || s.DeadLetters < 0 {
		return fmt.Errorf("negative outbox figure")
	}
	return nil
}
