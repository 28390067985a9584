package testreceiver

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Key signs every ack of a test receiver (a fixed test key); PublicKey is
// the cloud key that publishers under test verify acks with.
var (
	Key       = testKey()
	PublicKey = Key.Public().(ed25519.PublicKey)
)

func testKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("canopy test receiver"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Receiver subscribes to every device's items under a topic root,
// reassembles them, keeps them in memory and acknowledges each completed
// item ("stored", with Duplicate set after the first time). It reconnects by
// itself when the broker goes away.
type Receiver struct {
	// Reject, when set before items arrive, decides per item: a non-empty
	// reason acknowledges the item as rejected.
	Reject func(wire.Item) string

	// DropAck, when set before items arrive, decides per delivery (n counts
	// the item's completions from 1) whether to send no ack at all, as if
	// the ack were lost.
	DropAck func(it wire.Item, n int) bool

	// Lose, when set before items arrive, decides per arrival (n counts the
	// item's complete arrivals from 1, lost ones included) whether the item
	// is dropped before storage with no ack, as if the broker had dropped
	// its frames on a live connection.
	Lose func(it wire.Item, n int) bool

	t      testing.TB
	c      mqtt.Client
	topics wire.Topics
	r      *wire.Reassembler

	mu      sync.Mutex
	items   map[string]wire.Item
	counts  map[string]int // completions per item id
	arrived map[string]int // complete arrivals per item id, lost ones included
	order   []string       // item ids in order of first completion
	changed chan struct{}
	errs    atomic.Int64
	subs    atomic.Int64

	// Acks are published by their own goroutine, never inside the message
	// handler: with OrderMatters, paho runs handlers on its router, and a
	// Publish there blocks (up to its 30 s write timeout) when the
	// connection drops, which holds up the client's reconnect and
	// resubscription for as long (paho's documented rule: handlers must not
	// call Publish).
	ackMu   sync.Mutex
	acks    []pendingAck
	ackWake chan struct{}
}

type pendingAck struct {
	device string
	a      wire.Ack
}

// Start connects a receiver to broker (a tcp:// URL) for topic root and
// disconnects it at the end of the test.
func Start(t testing.TB, broker, root string) *Receiver {
	t.Helper()
	rc := &Receiver{
		t:       t,
		topics:  wire.Topics{Root: root},
		r:       wire.NewReassembler(wire.Limits{}),
		items:   map[string]wire.Item{},
		counts:  map[string]int{},
		arrived: map[string]int{},
		changed: make(chan struct{}, 1),
		ackWake: make(chan struct{}, 1),
	}
	subscribed := make(chan struct{}, 1)
	o := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(fmt.Sprintf("testreceiver-%d", time.Now().UnixNano())).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetOrderMatters(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			// Not waited on here: paho's handlers must not block on tokens.
			t := c.Subscribe(rc.topics.ItemFilter(), 1, rc.onFrame)
			go func() {
				t.Wait()
				rc.subs.Add(1)
				select {
				case subscribed <- struct{}{}:
				default:
				}
			}()
		})
	rc.c = mqtt.NewClient(o)
	rc.c.Connect()
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatalf("test receiver: no subscription to %s within 10s", broker)
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { defer close(stopped); rc.sendAcks(stop) }()
	t.Cleanup(func() {
		close(stop)
		<-stopped
		rc.c.Disconnect(100)
	})
	return rc
}

// sendAcks publishes queued acks until stop is closed. A Publish made while
// the client is reconnecting is stored by paho and sent on reconnection.
func (rc *Receiver) sendAcks(stop <-chan struct{}) {
	for {
		rc.ackMu.Lock()
		q := rc.acks
		rc.acks = nil
		rc.ackMu.Unlock()
		for _, pa := range q {
			b, err := wire.EncodeAck(pa.a)
			if err != nil {
				rc.t.Errorf("encode ack: %v", err)
				continue
			}
			rc.c.Publish(rc.topics.Ack(pa.device), 1, false, b) // a lost ack only means a resend
		}
		select {
		case <-stop:
			return
		case <-rc.ackWake:
		}
	}
}

func (rc *Receiver) onFrame(_ mqtt.Client, m mqtt.Message) {
	device, kind, ok := rc.topics.Parse(m.Topic())
	if !ok || kind != "item" {
		return
	}
	it, err := rc.r.Add(m.Payload(), time.Now())
	if err != nil {
		rc.errs.Add(1)
		if re, ok := err.(*wire.RejectError); ok && re.ItemID != "" && !re.Temporary() {
			rc.ack(device, wire.Ack{ItemID: re.ItemID, Status: wire.AckRejected, Reason: re.Error(), SHA256: re.SHA256})
		}
		return
	}
	if it == nil {
		return
	}
	if it.Meta.Device != device {
		rc.ack(device, wire.Ack{ItemID: it.Meta.ItemID, Status: wire.AckRejected, Reason: "device of topic and header differ", SHA256: it.Digest})
		return
	}
	if rc.Reject != nil {
		if reason := rc.Reject(*it); reason != "" {
			rc.ack(device, wire.Ack{ItemID: it.Meta.ItemID, Status: wire.AckRejected, Reason: reason, SHA256: it.Digest})
			return
		}
	}
	rc.mu.Lock()
	id := it.Meta.ItemID
	rc.arrived[id]++
	if rc.Lose != nil && rc.Lose(*it, rc.arrived[id]) {
		rc.mu.Unlock()
		return
	}
	rc.counts[id]++
	n := rc.counts[id]
	dup := n > 1
	if !dup {
		rc.items[id] = *it
		rc.order = append(rc.order, id)
	}
	rc.mu.Unlock()
	select {
	case rc.changed <- struct{}{}:
	default:
	}
	if rc.DropAck != nil && rc.DropAck(*it, n) {
		return
	}
	rc.ack(device, wire.Ack{ItemID: id, Status: wire.AckStored, Duplicate: dup, SHA256: it.Digest})
}

// ack signs a with Key and queues it for sendAcks; it never blocks, as
// paho's handlers must not.
func (rc *Receiver) ack(device string, a wire.Ack) {
	a = wire.SignAck(Key, device, a)
	rc.ackMu.Lock()
	rc.acks = append(rc.acks, pendingAck{device, a})
	rc.ackMu.Unlock()
	select {
	case rc.ackWake <- struct{}{}:
	default:
	}
}

// Order returns the ids of the stored items in order of first arrival.
func (rc *Receiver) Order() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.order)
}

// Item returns a stored item.
func (rc *Receiver) Item(id string) (wire.Item, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	it, ok := rc.items[id]
	return it, ok
}

// Count returns how many times item id was received complete.
func (rc *Receiver) Count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.counts[id]
}

// Len is the number of distinct items stored.
func (rc *Receiver) Len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.order)
}

// Deliveries is the number of complete items received, duplicates included.
func (rc *Receiver) Deliveries() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, c := range rc.counts {
		n += c
	}
	return n
}

// Subscriptions is the number of times the receiver has subscribed (once
// per connection).
func (rc *Receiver) Subscriptions() int { return int(rc.subs.Load()) }

// WaitSubscriptions waits until the receiver has subscribed n times.
func (rc *Receiver) WaitSubscriptions(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for rc.Subscriptions() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Errors is the number of frames the reassembler refused.
func (rc *Receiver) Errors() int { return int(rc.errs.Load()) }

// WaitLen waits until n distinct items are stored or timeout passes, and
// reports whether they are.
func (rc *Receiver) WaitLen(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if rc.Len() >= n {
			return true
		}
		select {
		case <-rc.changed:
		case <-deadline.C:
			return rc.Len() >= n
		}
	}
}

// Logger returns a logger that writes to the test log at level.
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b[:len(b)-1]))
	return len(b), nil
}
