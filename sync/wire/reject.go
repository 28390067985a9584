package wire

import "fmt"

// Reasons for rejecting a frame or an item: stable, machine-readable codes
// that travel in acks (Ack.Reason) and in logs. docs/protocol.md lists them.
const (
	ReasonBadMagic          = "bad_magic"            // not a v1 frame
	ReasonBadVersion        = "bad_version"          // unknown protocol version
	ReasonBadHeader         = "bad_header"           // header unreadable, missing or malformed fields
	ReasonBadDevice         = "bad_device"           // device id not valid
	ReasonChunkOutOfRange   = "chunk_out_of_range"   // chunk index or count outside what is allowed
	ReasonSizeMismatch      = "size_mismatch"        // sizes in the header contradict each other or the body
	ReasonHeaderMismatch    = "header_mismatch"      // chunks of one item disagree (seq, total, digest, count)
	ReasonDeviceMismatch    = "device_mismatch"      // chunks of one item from different devices, or wrong topic
	ReasonDuplicateChunk    = "duplicate_chunk"      // a second, different copy of a chunk
	ReasonDigestMismatch    = "digest_mismatch"      // reassembled body does not match its SHA-256
	ReasonTooLarge          = "too_large"            // item larger than the receiver's limit
	ReasonTooManyInProgress = "too_many_in_progress" // receiver busy: retry later (temporary)
	ReasonBadItem           = "bad_item"             // the item's content is not acceptable (receiver's own checks)
)

// RejectError reports a frame or an item that a receiver refuses. ItemID is
// empty when the header could not be read; Device is empty when it is not
// known or not valid.
type RejectError struct {
	ItemID string
	Device string
	SHA256 string // the item's SHA-256 as its header says, when known
	Reason string // one of the Reason constants
	Detail string // human-readable explanation
}

func (e *RejectError) Error() string {
	s := "reject"
	if e.ItemID != "" {
		s += " item " + e.ItemID
	}
	if e.Device != "" {
		s += " from " + e.Device
	}
	s += ": " + e.Reason
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Temporary reports whether the same item may succeed if sent again later
// (the receiver was busy). A receiver does not send a "rejected" ack for a
// temporary rejection: the device retransmits when no ack comes.
func (e *RejectError) Temporary() bool { return e.Reason == ReasonTooManyInProgress }

func reject(id, dev, reason, format string, args ...any) *RejectError {
	return &RejectError{ItemID: id, Device: dev, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}
