package db

import "time"

// Image states.
const (
	StateStored   = "stored"   // raw objects and row written, count job queued
	StateCounting = "counting" // a worker holds its job
	StateCounted  = "counted"  // a count is recorded
	StateFailed   = "failed"   // counting failed for good
	// StateImageEvicted: the device's outbox dropped the image bytes to stay
	// within its byte bound before the item was sent. The row, its metadata
	// and the device's mask are kept; there is no image and no count job, so
	// it is never counted (and never counted as zero trees).
	StateImageEvicted = "image_evicted"
)

// Image origins.
const (
	OriginDevice = "device" // sent by a field device over MQTT
	OriginUpload = "upload" // POST /v1/images
	OriginCompat = "compat" // the earlier pipeline's JSON message
)

// Image is one stored image and what is known of it.
type Image struct {
	ItemID        string    `json:"item_id"`
	Device        string    `json:"device,omitempty"`
	Seq           uint64    `json:"seq"`
	CapturedAt    time.Time `json:"captured_at"`
	ClockSynced   bool      `json:"clock_synced"`
	Lat           *float64  `json:"lat,omitempty"`
	Lon           *float64  `json:"lon,omitempty"`
	Width         int       `json:"width"`
	Height        int       `json:"height"`
	ForestShare   float64   `json:"forest_share"`
	Segmenter     string    `json:"segmenter,omitempty"`
	Model         string    `json:"model,omitempty"`
	ModelSHA256   string    `json:"model_sha256,omitempty"`
	ScanID        string    `json:"scan_id,omitempty"`
	AddressID     string    `json:"address_id,omitempty"`
	TreeType      string    `json:"tree_type,omitempty"`
	Source        string    `json:"source,omitempty"`
	Origin        string    `json:"origin"`             // OriginDevice, OriginUpload, OriginCompat; "" = device
	RawKey        string    `json:"raw_key"`            // in bucket "raw"
	MaskKey       string    `json:"mask_key,omitempty"` // the device's mask, in bucket "raw"
	ContentSHA256 string    `json:"content_sha256,omitempty"`
	State         string    `json:"state"`       // set by the database; PutImage takes StateImageEvicted, else stores StateStored
	ReceivedAt    time.Time `json:"received_at"` // zero in PutImage: now
	// RawDeletedAt is when retention deleted the raw image (zero: kept);
	// its count, boxes, masks and annotated image stay.
	RawDeletedAt time.Time `json:"raw_deleted_at,omitzero"`
	// Where the image lies on the ground, as the device or upload said.
	Ground

	// Count is the image's count once it has one.
	Count *CountRecord `json:"count,omitempty"`
}

// CountRecord is the result of counting one image.
type CountRecord struct {
	ItemID       string    `json:"item_id"`
	Count        int       `json:"count"`
	Boxes        []Box     `json:"boxes"`
	Method       string    `json:"method"`
	Model        string    `json:"model,omitempty"`
	ModelSHA256  string    `json:"model_sha256,omitempty"`
	AnnotatedKey string    `json:"annotated_key,omitempty"` // in bucket "processed"
	MaskKey      string    `json:"mask_key,omitempty"`      // in bucket "processed"
	CountedAt    time.Time `json:"counted_at"`              // zero: now
	// Where the trees lie: the GSD counted at, and how boxes were placed.
	Placement
}

// ImageQuery selects images for ListImages. Zero fields do not filter.
type ImageQuery struct {
	Device string
	ScanID string
	Since  time.Time // captured at or after
	Limit  int       // 0: 50; at most 500
	Cursor string    // from the previous page; "" for the first
}

// Page sizes of ListImages.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Scan is a survey: the images sent under one scan id, and their trees.
type Scan struct {
	ScanID     string    `json:"scan_id"`
	AddressID  string    `json:"address_id,omitempty"`
	TreeType   string    `json:"tree_type,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at"`  // its first capture time
	EndedAt    time.Time `json:"ended_at"`    // its last
	Images     []Image   `json:"images"`      // newest first, with counts (at most MaxScanImages)
	ImageCount int       `json:"image_count"` // all images of the scan
	Counted    int       `json:"counted"`     // images with a count
	Evicted    int       `json:"evicted"`     // images evicted on the device (metadata only, never counted)
	TotalTrees int       `json:"total_trees"` // sum of their counts (cloud/api replaces it by the trees merged by position)
}

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

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is one counting job: count the image ItemID.
type Job struct {
	ID         int64
	ItemID     string
	State      string
	Attempts   int // claims so far, this one included
	LeaseUntil time.Time
	Worker     string
	LastError  string
	CreatedAt  time.Time
	// Method and ModelSHA256 name the counter a recount asks for (the
	// model stored at processed/models/<sha256>.onnx); "" = the worker's own.
	Method      string
	ModelSHA256 string
}

// JobPolicy says how failed jobs are retried.
type JobPolicy struct {
	MaxAttempts int           // after this many failed attempts a job fails for good; 0: 5
	Backoff     time.Duration // delay after the first failure, doubled each time; 0: none
	MaxBackoff  time.Duration // 0: 10 minutes
}

// DefaultJobPolicy is the policy of a new DB.
var DefaultJobPolicy = JobPolicy{MaxAttempts: 5, Backoff: 10 * time.Second, MaxBackoff: 10 * time.Minute}

// Token scopes.
const (
	ScopeRead    = "read"
	ScopeWrite   = "write"   // includes read
	ScopeMetrics = "metrics" // GET /metrics only
	ScopeAdmin   = "admin"   // everything: write, metrics and the audit trail
)

// ValidScope reports whether s is one of the token scopes.
func ValidScope(s string) bool {
	switch s {
	case ScopeRead, ScopeWrite, ScopeMetrics, ScopeAdmin:
		return true
	}
	return false
}

// Token states, as Token.State reports them.
const (
	TokenActive  = "active"
	TokenExpired = "expired"
	TokenRevoked = "revoked"
)

// Token is an API token, stored as the hash of its secret.
type Token struct {
	Hash  string `json:"hash"`
	Scope string `json:"scope"`
	Name  string `json:"name,omitempty"`
	// Device binds the token to one device: it may upload only for that
	// device. "": not bound.
	Device     string    `json:"device,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`   // zero: never expires
	RevokedAt  time.Time `json:"revoked_at,omitzero"`   // zero: not revoked
	LastUsedAt time.Time `json:"last_used_at,omitzero"` // zero: never used (recorded at most once a minute)
}
