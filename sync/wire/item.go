package wire

import "time"

// Item is one captured frame and what the device learned of it: the unit
// that the outbox stores, the publisher sends and the receiver acknowledges.
type Item struct {
	Meta  Meta
	Parts []Part
	// Digest is the SHA-256 of the item's body (the parts' bytes one after
	// the other), lower-case hex, when it is known: a Reassembler sets it
	// (checked against the frames' header), and so does UnmarshalDigest.
	// It is not part of the wire format: the chunk headers carry it.
	Digest string
}

// Part is one named payload of an item, such as the JPEG frame or the PNG
// mask. On the wire the parts' bytes follow each other in order.
type Part struct {
	Name        string // PartImage, PartMask, ...
	ContentType string // "image/jpeg", "image/png", ...
	Data        []byte
}

// Names of the parts that devices send.
const (
	PartImage = "image"
	PartMask  = "mask"
)

// Meta describes an item. It travels as JSON inside the chunk header.
type Meta struct {
	ItemID      string    `json:"item_id"` // unique, sortable by capture time (ULID)
	Device      string    `json:"device"`
	Seq         uint64    `json:"seq"` // per-device sequence number, from 1
	CapturedAt  time.Time `json:"captured_at"`
	ClockSynced bool      `json:"clock_synced"` // false: CapturedAt may be far off (no RTC, no NTP yet)
	GPS         *GPS      `json:"gps,omitempty"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	ForestShare float64   `json:"forest_share"`
	Segmenter   string    `json:"segmenter"`
	Model       string    `json:"model,omitempty"`
	ModelSHA256 string    `json:"model_sha256,omitempty"`
	ScanID      string    `json:"scan_id,omitempty"`
	AddressID   string    `json:"address_id,omitempty"`
	TreeType    string    `json:"tree_type,omitempty"`
	Source      string    `json:"source,omitempty"` // where the frame came from: a file's base name, a camera
	// ImageEvicted is set by the device's outbox when it dropped the image
	// bytes to stay within its byte bound: the item still carries its
	// metadata and mask, and the image part has no data.
	ImageEvicted bool `json:"image_evicted,omitempty"`
}

// GPS is a WGS 84 position.
type GPS struct {
	Lat float64  `json:"lat"`
	Lon float64  `json:"lon"`
	Alt *float64 `json:"alt,omitempty"` // metres above sea level, when known
}

// Part returns the data of the part called name, or nil.
func (it *Item) Part(name string) []byte {
	for _, p := range it.Parts {
		if p.Name == name {
			return p.Data
		}
	}
	return nil
}

// Size is the number of payload bytes of the item, all parts together.
func (it *Item) Size() int {
	n := 0
	for _, p := range it.Parts {
		n += len(p.Data)
	}
	return n
}
