package fleet

import (
	"context"
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
// publisher and the real desired-state Manager, items made here instead
// of captured.
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

// newDevice opens device id's outbox and desired state under s.Dir and
// its publisher to s.Broker (through a proxy that cuts its first
// connection after cutAfter bytes, when cutAfter > 0).
func newDevice(id string, s devSpec, cutAfter int64, log *slog.Logger) (*device, error) {
	broker := s.Broker
	ob, err := outbox.Open(filepath.Join(s.Dir, id+".outbox"), outbox.Options{}, nil)
	if err != nil {
		return nil, err
	}
	d := &device{id: id, ob: &timedOutbox{Outbox: ob, acked: map[string]time.Time{}, rejected: map[string]string{}}, puts: map[string]time.Time{}}
	if cutAfter > 0 {
		addr := broker[len("tcp://"):]
		if d.proxy, err = tcpproxy.Start(addr, cutAfter, 1); err != nil {
			ob.Close()
			return nil, err
		}
		broker = d.proxy.URL()
	}
	d.dm, err = desired.Open(desired.Options{
		Device: id, Dir: filepath.Join(s.Dir, id+".desired"), CloudKey: s.CloudKey, Topics: wire.Topics{Root: s.Root},
		Healthy: func() error {
			if !d.pub.Stats().Connected {
				return errors.New("not connected")
			}
			return nil
		},
		Log: log,
	})
	if err != nil {
		d.close()
		return nil, err
	}
	pc := publishConfig(s, id, broker)
	pc.Downlink = d.dm
	d.pub, err = publish.New(pc, d.ob, log)
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
