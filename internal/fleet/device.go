package fleet

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/canopy-forest/canopy/agent/desired"
	"github.com/canopy-forest/canopy/internal/tcpproxy"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// device is a simulated field unit: the real outbox (bbolt), the real
// publisher and the real desired-state Manager (agent/desired), items made
// here instead of captured, models checked for their ONNX structure
// instead of run.
type device struct {
	id    string
	ob    *timedOutbox
	pub   *publish.Publisher
	dm    *desired.Manager
	proxy *tcpproxy.Proxy // nil unless its link is cut

	mu   sync.Mutex
	puts map[string]time.Time
}

// timedOutbox records when each item left the outbox on an ack: the
// device's confirmation that the cloud stored it. It keeps the optional
// methods of *outbox.Outbox (AckMany, NextSkip) that the publisher uses.
type timedOutbox struct {
	*outbox.Outbox
	mu       sync.Mutex
	acked    map[string]time.Time
	rejected map[string]string
}

func (t *timedOutbox) record(ids ...string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if _, ok := t.acked[id]; !ok {
			t.acked[id] = now
		}
	}
}

// Ack removes id and records the time.
func (t *timedOutbox) Ack(id string) error {
	err := t.Outbox.Ack(id)
	if err == nil {
		t.record(id)
	}
	return err
}

// AckMany removes ids and records the time.
func (t *timedOutbox) AckMany(ids ...string) (int, error) {
	n, err := t.Outbox.AckMany(ids...)
	if err == nil {
		t.record(ids...)
	}
	return n, err
}

// Reject moves id to the dead letters and records the reason.
func (t *timedOutbox) Reject(id, reason string) error {
	t.mu.Lock()
	t.rejected[id] = reason
	t.mu.Unlock()
	return t.Outbox.Reject(id, reason)
}

// deviceOptions are what a simulated device is made of.
type deviceOptions struct {
	id, dir, broker, root string
	ackTimeout            time.Duration
	// cutAfter > 0: its first connection goes through a proxy that cuts
	// it after this many bytes.
	cutAfter           int64
	cloudKey           ed25519.PublicKey
	username, password string // for a broker that authenticates devices
	log                *slog.Logger
}

// newDevice opens the device's outbox and desired state under o.dir and
// its publisher to o.broker.
func newDevice(o deviceOptions) (*device, error) {
	ob, err := outbox.Open(filepath.Join(o.dir, o.id+".outbox"), outbox.Options{}, nil)
	if err != nil {
		return nil, err
	}
	d := &device{id: o.id, ob: &timedOutbox{Outbox: ob, acked: map[string]time.Time{}, rejected: map[string]string{}}, puts: map[string]time.Time{}}
	broker := o.broker
	if o.cutAfter > 0 {
		addr := broker[len("tcp://"):]
		if d.proxy, err = tcpproxy.Start(addr, o.cutAfter, 1); err != nil {
			ob.Close()
			return nil, err
		}
		broker = d.proxy.URL()
	}
	d.dm, err = desired.Open(desired.Options{
		Device: o.id, Dir: filepath.Join(o.dir, o.id+".desired"), CloudKey: o.cloudKey, Topics: wire.Topics{Root: o.root},
		Healthy: func() error {
			if !d.pub.Stats().Connected {
				return errors.New("not connected")
			}
			return nil
		},
		Log: o.log,
	})
	if err != nil {
		d.close()
		return nil, err
	}
	d.pub, err = publish.New(publish.Config{
		Broker: broker, TopicRoot: o.root, Device: o.id, ClientID: "fleet-" + o.id,
		AckTimeout: o.ackTimeout, MinBackoff: 500 * time.Millisecond, MaxBackoff: 5 * time.Second,
		StatusInterval: 10 * time.Second, Version: "fleet", CloudKey: o.cloudKey,
		Username: o.username, Password: o.password, Downlink: d.dm,
	}, d.ob, o.log)
	if err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// run runs the device's publisher and desired-state Manager until ctx
// ends.
func (d *device) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.dm.Run(ctx) })
	wg.Go(func() { _ = d.pub.Run(ctx) })
	wg.Wait()
}

// put puts it in the outbox and records the time.
func (d *device) put(ctx context.Context, it wire.Item) error {
	t := time.Now()
	if err := d.ob.Put(ctx, it, outbox.Cursor{}); err != nil {
		return fmt.Errorf("device %s: %w", d.id, err)
	}
	d.mu.Lock()
	d.puts[it.Meta.ItemID] = t
	d.mu.Unlock()
	return nil
}

// drained reports whether every item put has been acknowledged.
func (d *device) drained() bool {
	ok, err := d.pub.Drained()
	return err == nil && ok
}

func (d *device) close() {
	if d.proxy != nil {
		d.proxy.Close()
	}
	d.ob.Close()
}
