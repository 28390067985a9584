package ingest

import (
	"errors"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Reasons for rejecting an item: the label values of the rejected metric
// and the start of the reason sent in the ack. Reassembly errors keep the
// sync/wire reason (wire.ReasonDigestMismatch, wire.ReasonTooLarge, ...).
const (
	ReasonDigest      = wire.ReasonDigestMismatch // the SHA-256 does not match
	ReasonTooLarge    = wire.ReasonTooLarge       // over the item or pixel limits
	ReasonWrongDevice = wire.ReasonDeviceMismatch // the topic's device is not the header's
	ReasonBadImage    = "bad_image"               // the image or mask does not decode
	ReasonBadMeta     = "bad_meta"                // missing or invalid metadata
	ReasonTimeout     = "timeout"                 // the item's chunks did not all arrive in time
)

// RejectError is a permanent failure: the item is invalid and sending it
// again will not help. It is acknowledged as rejected.
type RejectError struct {
	Reason string // one of the Reason constants
	Detail string // what was wrong, for people
}

func (e *RejectError) Error() string {
	if e.Detail == "" {
		return "rejected: " + e.Reason
	}
	return "rejected: " + e.Reason + ": " + e.Detail
}

// AckReason is the reason sent to the device: a sync/wire Reason constant
// (the receiver's own content checks are wire.ReasonBadItem; the detail is
// logged, not sent).
func (e *RejectError) AckReason() string {
	switch e.Reason {
	case ReasonBadImage, ReasonBadMeta:
		return wire.ReasonBadItem
	}
	return e.Reason
}

func reject(reason, detail string) *RejectError {
	return &RejectError{Reason: reason, Detail: detail}
}

// IsReject reports whether err is (or wraps) a RejectError, and returns it.
func IsReject(err error) (*RejectError, bool) {
	var re *RejectError
	ok := errors.As(err, &re)
	return re, ok
}

// fromWire converts a reassembly error.
func fromWire(we *wire.RejectError) *RejectError {
	return reject(we.Reason, we.Detail)
}
