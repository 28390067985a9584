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
	// Reported is what the device runs of its desired state (absent: a
	// device that takes no desired documents).
	Reported *Reported `json:"reported,omitempty"`
}

// States of a device's desired state in Reported.State.
const (
	ReportApplied     = "applied"     // it runs Version
	ReportDownloading = "downloading" // fetching the model of Pending
	ReportChecking    = "checking"    // checking the model and config of Pending
	ReportTrial       = "trial"       // runs Pending within its health window
	ReportRolledBack  = "rolled_back" // FailedVersion failed its check or health window; it runs Version
	ReportRefused     = "refused"     // a document was refused (LastError says why); it runs Version
)

// Reported is what a device runs and what became of the last desired
// document it got, in its status.
type Reported struct {
	// Version is the desired document applied (0: none, the device's own
	// configuration).
	Version int64 `json:"version"`
	// ModelSHA256 is the SHA-256 of the model the device runs ("" for a
	// segmenter without a model file).
	ModelSHA256 string `json:"model_sha256,omitempty"`
	State       string `json:"state"` // a Report constant
	// Pending is the version being downloaded, checked or tried.
	Pending int64 `json:"pending_version,omitempty"`
	// FailedVersion is the last version refused or rolled back, and
	// LastError why.
	FailedVersion int64  `json:"failed_version,omitempty"`
	LastError     string `json:"last_error,omitempty"`
	// Fetched and FetchSize are the bytes of Pending's model staged so far
	// and its size.
	Fetched   int64 `json:"fetched_bytes,omitempty"`
	FetchSize int64 `json:"fetch_size,omitempty"`
}

func (r *Reported) validate() error {
	switch r.State {
	case ReportApplied, ReportDownloading, ReportChecking, ReportTrial, ReportRolledBack, ReportRefused:
	default:
		return fmt.Errorf("reported state %q unknown", r.State)
	}
	if r.Version < 0 || r.Pending < 0 || r.FailedVersion < 0 || r.Fetched < 0 || r.FetchSize < 0 {
		return fmt.Errorf("negative reported figure")
	}
	if r.ModelSHA256 != "" && !isHex64(r.ModelSHA256) {
		return fmt.Errorf("reported model_sha256 is not 64 lower-case hex digits")
	}
	if len(r.LastError) > 2048 {
		return fmt.Errorf("reported last_error longer than 2048 bytes")
	}
	return nil
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
	if s.Reported != nil {
		return s.Reported.validate()
	}
	return nil
}
