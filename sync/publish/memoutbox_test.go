package publish_test

import (
	"slices"
	"sync"
	"time"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/wire"
)

// memOutbox is an in-memory publish.Outbox for unit tests that need no disk.
type memOutbox struct {
	mu      sync.Mutex
	recs    []outbox.Record
	dead    map[string]string
	changed chan struct{}
}

func newMemOutbox() *memOutbox {
	return &memOutbox{dead: map[string]string{}, changed: make(chan struct{}, 1)}
}

func (m *memOutbox) put(it wire.Item) {
	m.mu.Lock()
	m.recs = append(m.recs, outbox.Record{ID: it.Meta.ItemID, Item: it, Size: it.Size(), PutAt: time.Now()})
	m.mu.Unlock()
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func (m *memOutbox) Next(after string, n int) ([]outbox.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []outbox.Record
	for _, r := range m.recs {
		if r.ID > after && len(out) < n {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memOutbox) remove(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.recs, func(r outbox.Record) bool { return r.ID == id })
	if i < 0 {
		return outbox.ErrNotFound
	}
	m.recs = slices.Delete(m.recs, i, i+1)
	return nil
}

func (m *memOutbox) Ack(id string) error { return m.remove(id) }

func (m *memOutbox) Reject(id, reason string) error {
	if err := m.remove(id); err != nil {
		return err
	}
	m.mu.Lock()
	m.dead[id] = reason
	m.mu.Unlock()
	return nil
}

func (m *memOutbox) Stats() (outbox.Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := outbox.Stats{Depth: len(m.recs), DeadLetters: len(m.dead)}
	for _, r := range m.recs {
		st.Bytes += int64(r.Size)
	}
	if len(m.recs) > 0 {
		st.Oldest = m.recs[0].PutAt
	}
	return st, nil
}

func (m *memOutbox) Changed() <-chan struct{} { return m.changed }
