package agent

import (
	"fmt"
	"time"
)

// DefaultStuckAfter is how long one frame may stay in a stage (segment, or
// encode and put) before Health reports the pipeline stuck.
const DefaultStuckAfter = 2 * time.Minute

// Health reports an error when a stage has been working on one frame for
// longer than Options.StuckAfter: a hung segmenter or sink. Waiting for a
// camera (with backoff) or for frames is not a failure. It is meant for a
// watchdog (systemd's WatchdogSec) and is safe to call concurrently.
func (a *Agent) Health() error {
	now := time.Now().UnixNano()
	for _, st := range []struct {
		name  string
		since int64
	}{{"segment", a.segBusy.Load()}, {"encode and put", a.putBusy.Load()}} {
		if st.since != 0 && time.Duration(now-st.since) > a.o.StuckAfter {
			return fmt.Errorf("pipeline stuck: %s has worked on one frame for %v", st.name, time.Duration(now-st.since).Round(time.Second))
		}
	}
	return nil
}

// Capturing reports whether the pipeline captures: its source is open
// and, unless it is a folder (which may have nothing new), has given a
// frame. Safe to call concurrently with Run.
func (a *Agent) Capturing() bool {
	return a.opened.Load() && (a.folder.Load() || a.c.read.Load() > 0)
}
