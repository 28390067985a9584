package db

import "time"

// DeviceStatus is what a device's status message says.
type DeviceStatus struct {
	Device      string
	Online      bool
	OutboxDepth int
	Evictions   int64 // images its outbox dropped to stay within its bound, ever
	Refused     int64 // items its full outbox refused, ever
	DeadLetters int64 // items in its dead letters
	Version     string
	Seen        time.Time // zero: now
}

// Device is a field unit as the cloud knows it.
type Device struct {
	ID          string    `json:"id"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Online      bool      `json:"online"`
	OutboxDepth int       `json:"outbox_depth"`
	Evictions   int64     `json:"evictions"`    // images its outbox dropped, ever
	Refused     int64     `json:"refused"`      // items its full outbox refused, ever
	DeadLetters int64     `json:"dead_letters"` // items in its dead letters
	Version     string    `json:"version,omitempty"`
	Images      int       `json:"images"` // images stored from it
}
