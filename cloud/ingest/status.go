package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Status messages at fleet scale: every device refreshes its retained
// status (on connect and every sync.status_interval), so ten thousand
// devices send hundreds a second, more than a database row each can
// follow. The receiver keeps the latest status of each device until it is
// written (a newer one of the same device replaces it: the latest wins),
// and writes what has gathered in batches of statusBatch rows, one
// statement each when the database has UpdateDevices.
const (
	statusBatch = 500
	// maxStatusDevices bounds the devices whose status waits; beyond it a
	// new device's status is dropped (counted, and logged once per
	// interval) until the writer catches up.
	maxStatusDevices = 100_000
)

// devicesBatch is a Devices that records many statuses at once (*db.DB).
type devicesBatch interface {
	UpdateDevices(ctx context.Context, ss []db.DeviceStatus) error
}

// statusQueue holds the latest status of each device until it is taken.
type statusQueue struct {
	mu      sync.Mutex
	pending map[string]wire.Status
	ready   chan struct{} // holds a token while pending is not empty
}

func newStatusQueue() *statusQueue {
	return &statusQueue{pending: map[string]wire.Status{}, ready: make(chan struct{}, 1)}
}

// put keeps st as its device's latest status. It reports whether st
// replaced one not yet taken, and false for added when the queue is full
// of other devices.
func (q *statusQueue) put(st wire.Status) (replaced, added bool) {
	q.mu.Lock()
	_, replaced = q.pending[st.Device]
	if !replaced && len(q.pending) >= maxStatusDevices {
		q.mu.Unlock()
		return false, false
	}
	q.pending[st.Device] = st
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return replaced, true
}

// take removes and returns up to n statuses.
func (q *statusQueue) take(n int) []wire.Status {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]wire.Status, 0, min(n, len(q.pending)))
	for dev, st := range q.pending {
		if len(out) == n {
			break
		}
		out = append(out, st)
		delete(q.pending, dev)
	}
	return out
}

// statusLoop writes the statuses gathered until stop is closed.
func (r *Receiver) statusLoop() {
	for {
		select {
		case <-r.status.ready:
		case <-r.stop:
			return
		}
		for batch := r.status.take(statusBatch); len(batch) > 0; batch = r.status.take(statusBatch) {
			r.writeStatuses(batch)
		}
	}
}

func (r *Receiver) writeStatuses(batch []wire.Status) {
	rows := make([]db.DeviceStatus, len(batch))
	now := time.Now()
	for i, st := range batch {
		seen := st.Time
		if seen.IsZero() || seen.After(now) {
			seen = now
		}
		rows[i] = db.DeviceStatus{
			Device: st.Device, Online: st.State == wire.StateOnline, OutboxDepth: st.OutboxDepth,
			Evictions: st.Evictions, Refused: st.Refused, DeadLetters: int64(st.DeadLetters),
			Version: st.Version, Seen: seen.UTC(),
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b, ok := r.devices.(devicesBatch); ok {
		if err := b.UpdateDevices(ctx, rows); err != nil {
			r.warn.Warn("update device statuses", "devices", len(rows), "err", err)
			return
		}
		r.metrics.StatusUpdate.Add(float64(len(rows)))
		return
	}
	for _, s := range rows {
		if err := r.devices.UpdateDevice(ctx, s); err != nil {
			r.warn.Warn("update device status", "device", s.Device, "err", err)
			continue
		}
		r.metrics.StatusUpdate.Inc()
	}
}
