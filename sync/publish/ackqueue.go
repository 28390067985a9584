package publish

import (
	"sync"

	"github.com/canopy-forest/canopy/sync/wire"
)

// ackQueue carries acks from the MQTT client's goroutine to Run's. Pushing
// never blocks: a blocked message handler would stall the client's reading
// of PUBACKs, which the publisher may be waiting for.
type ackQueue struct {
	mu     sync.Mutex
	acks   []wire.Ack
	signal chan struct{} // holds one token while acks is not empty
}

func newAckQueue() *ackQueue { return &ackQueue{signal: make(chan struct{}, 1)} }

func (q *ackQueue) push(a wire.Ack) {
	q.mu.Lock()
	q.acks = append(q.acks, a)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// ready is signalled when acks may be waiting.
func (q *ackQueue) ready() <-chan struct{} { return q.signal }

// take returns and removes every ack waiting.
func (q *ackQueue) take() []wire.Ack {
	q.mu.Lock()
	defer q.mu.Unlock()
	a := q.acks
	q.acks = nil
	return a
}
