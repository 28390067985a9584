package ingest

import (
	"log/slog"
	"sync"
	"time"
)

// DefaultWarnEvery is how often a receiver logs one kind of warning at
// most; the others of the interval are counted.
const DefaultWarnEvery = 10 * time.Second

// warnLimiter logs a warning that repeats (the same message) at most once
// per interval: the first at once, with its own attributes; the others of
// the interval are counted, and the count goes with the next line of that
// message ("suppressed": how many were not logged since the last line),
// or, when none comes, with a line of its own from flush. At fleet scale a
// failing database or a flood of bad status messages then costs a line
// per interval, not one per message.
type warnLimiter struct {
	log   *slog.Logger
	every time.Duration

	mu   sync.Mutex
	msgs map[string]*warnState // by message: a fixed set, the messages of this package
}

type warnState struct {
	last       time.Time // when a line of this message was logged
	suppressed int
}

func newWarnLimiter(log *slog.Logger, every time.Duration) *warnLimiter {
	return &warnLimiter{log: log, every: every, msgs: map[string]*warnState{}}
}

// Warn logs msg with args, or counts it when a line of msg was logged less
// than the interval ago.
func (w *warnLimiter) Warn(msg string, args ...any) {
	now := time.Now()
	w.mu.Lock()
	st := w.msgs[msg]
	if st == nil {
		st = &warnState{}
		w.msgs[msg] = st
	} else if now.Sub(st.last) < w.every {
		st.suppressed++
		w.mu.Unlock()
		return
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	w.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	w.log.Warn(msg, args...)
}

// flush logs the count of each message whose interval has ended with
// warnings not logged.
func (w *warnLimiter) flush() {
	now := time.Now()
	type line struct {
		msg string
		n   int
	}
	var lines []line
	w.mu.Lock()
	for msg, st := range w.msgs {
		if st.suppressed > 0 && now.Sub(st.last) >= w.every {
			lines = append(lines, line{msg, st.suppressed})
			st.last, st.suppressed = now, 0
		}
	}
	w.mu.Unlock()
	for _, l := range lines {
		w.log.Warn(l.msg, "suppressed", l.n, "interval", w.every)
	}
}
