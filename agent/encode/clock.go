package encode

import (
	"time"

	"github.com/canopy-forest/canopy/agent/capture"
)

// MinPlausibleYear is the first year a synchronised clock can show: a Pi
// without a real-time clock boots in 1970.
const MinPlausibleYear = 2020

// ClockSynced says whether the time t of a frame, from clock, can be
// trusted: the kernel's clock is synchronised (for ClockSystem) and the year
// is at least MinPlausibleYear. kernel is consulted only for ClockSystem.
func ClockSynced(t time.Time, clock capture.Clock, kernel func() bool) bool {
	if t.Year() < MinPlausibleYear {
		return false
	}
	if clock == capture.ClockSystem {
		return kernel()
	}
	return true // a camera's EXIF time, or a file time: plausible is all we know
}
