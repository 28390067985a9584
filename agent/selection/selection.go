package selection

import (
	"fmt"
	"image"
	"math/bits"
	"time"
)

// Reasons a frame is skipped.
const (
	ReasonLowShare  = "low_share"
	ReasonInterval  = "interval"
	ReasonDuplicate = "duplicate"
)

// Duplicates modes.
const (
	DuplicatesSkip = "skip" // skip frames near-identical to the last selected one
	DuplicatesKeep = "keep" // the rule is off
)

// Policy is what a frame must pass to be selected.
type Policy struct {
	// MinShare is the least forest share, in [0, 1]; 0 turns the rule off.
	MinShare float64
	// MinInterval is the least capture time between two selected frames; 0
	// turns the rule off.
	MinInterval time.Duration
	// Duplicates is DuplicatesSkip or DuplicatesKeep ("" = keep).
	Duplicates string
	// DuplicateDistance is the largest Hamming distance (0..64) between the
	// hashes of two frames that still counts as a duplicate.
	DuplicateDistance int
}

// Validate reports a policy that cannot be applied.
func (p Policy) Validate() error {
	switch {
	case p.MinShare < 0 || p.MinShare > 1:
		return fmt.Errorf("min_share %v out of [0, 1]", p.MinShare)
	case p.MinInterval < 0:
		return fmt.Errorf("min_interval %v is negative", p.MinInterval)
	case p.Duplicates != "" && p.Duplicates != DuplicatesSkip && p.Duplicates != DuplicatesKeep:
		return fmt.Errorf("duplicates %q: want %q or %q", p.Duplicates, DuplicatesSkip, DuplicatesKeep)
	case p.DuplicateDistance < 0 || p.DuplicateDistance > 64:
		return fmt.Errorf("duplicate_distance %d out of [0, 64]", p.DuplicateDistance)
	}
	return nil
}

// Decision is the outcome for one frame.
type Decision struct {
	Keep   bool
	Reason string // why not, when !Keep: one of the Reason constants
	// Distance is the Hamming distance to the last selected frame (-1 when
	// not computed).
	Distance int
}

// Selector applies a Policy to a stream of frames.
type Selector struct {
	p        Policy
	has      bool
	lastTime time.Time
	lastHash uint64
}

// New returns a Selector for p.
func New(p Policy) *Selector { return &Selector{p: p} }

// Decide says whether the frame captured at t (zero: unknown, the interval
// rule does not apply), with forest share share,
// is selected; a selected frame becomes the one later frames are compared
// with. img is hashed only when the duplicate rule is on.
func (s *Selector) Decide(img image.Image, t time.Time, share float64) Decision {
	d := Decision{Distance: -1}
	if s.p.MinShare > 0 && share < s.p.MinShare {
		d.Reason = ReasonLowShare
		return d
	}
	// A clock that went backwards does not hold frames back, nor does an
	// unknown time (zero).
	if s.p.MinInterval > 0 && s.has && !t.IsZero() && t.After(s.lastTime) && t.Sub(s.lastTime) < s.p.MinInterval {
		d.Reason = ReasonInterval
		return d
	}
	var h uint64
	if s.p.Duplicates == DuplicatesSkip {
		h = DHash(img)
		if s.has {
			d.Distance = bits.OnesCount64(h ^ s.lastHash)
			if d.Distance <= s.p.DuplicateDistance {
				d.Reason = ReasonDuplicate
				return d
			}
		}
	}
	if !t.IsZero() || !s.has {
		s.lastTime = t
	}
	s.has, s.lastHash = true, h
	d.Keep = true
	return d
}
