package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/wire"
)

// maxPendingTokens bounds the frames handed to the MQTT client and not yet
// acknowledged by the broker (PUBACK); beyond it the publisher waits for the
// oldest, so memory stays bounded when the broker is slow.
const maxPendingTokens = 64

// idlePoll is how often the outbox is looked at when it signals nothing.
const idlePoll = time.Second

// connect makes one connection attempt. A fresh client each time: the
// publisher, not paho's store, decides what is sent again after a reconnect.
func (p *Publisher) connect(ctx context.Context) (*conn, error) {
	c := &conn{lost: make(chan struct{})}
	var once sync.Once
	will, err := wire.EncodeStatus(wire.Status{Device: p.cfg.Device, State: wire.StateOffline, Version: p.cfg.Version, Time: time.Now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("encode will: %w", err)
	}
	ackTopic := p.topics.Ack(p.cfg.Device)
	onAck := func(_ mqtt.Client, m mqtt.Message) {
		if d := p.cfg.Downlink; d != nil && m.Topic() != ackTopic {
			d.Message(m.Topic(), m.Payload())
			return
		}
		a, err := wire.DecodeAck(m.Payload())
		if err != nil {
			p.log.Warn("bad ack", "topic", m.Topic(), "err", err)
			return
		}
		p.acks.push(a)
	}
	o := mqtt.NewClientOptions().
		AddBroker(p.cfg.Broker).
		SetClientID(p.cfg.ClientID).
		SetCleanSession(false).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false).
		SetKeepAlive(p.cfg.KeepAlive).
		SetPingTimeout(max(p.cfg.KeepAlive/2, time.Second)).
		SetConnectTimeout(p.cfg.ConnectTimeout).
		SetWriteTimeout(p.cfg.ConnectTimeout).
		SetOrderMatters(true).
		SetBinaryWill(p.topics.Status(p.cfg.Device), will, 1, true).
		SetDefaultPublishHandler(onAck). // acks (and downlink messages) of the persistent session may come before Subscribe returns
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			p.log.Warn("mqtt connection lost", "err", err)
			once.Do(func() { close(c.lost) })
		})
	if p.tls != nil {
		o.SetTLSConfig(p.tls)
	}
	if p.cfg.Username != "" {
		o.SetUsername(p.cfg.Username)
		o.SetPassword(p.cfg.Password)
	}
	c.client = mqtt.NewClient(o)
	if err := wait(ctx, c.client.Connect(), nil); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	p.counters.connects.Add(1)
	p.counters.connected.Store(true)
	if err := wait(ctx, c.client.Subscribe(ackTopic, 1, onAck), c.lost); err != nil {
		c.client.Disconnect(0)
		return nil, fmt.Errorf("subscribe to acks: %w", err)
	}
	if err := p.subscribeDownlink(ctx, c, onAck); err != nil {
		c.client.Disconnect(0)
		return nil, fmt.Errorf("subscribe to the downlink: %w", err)
	}
	p.log.Info("mqtt connected", "client_id", p.cfg.ClientID, "reconnects", max(0, p.counters.connects.Load()-1))
	return c, nil
}

// wait waits for t, ctx or lost, whichever comes first.
func wait(ctx context.Context, t mqtt.Token, lost <-chan struct{}) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-lost:
		return errConnectionLost
	}
}

// session drains the outbox over one connection until the connection is
// lost (an error) or ctx is cancelled (nil, after the flush).
func (p *Publisher) session(ctx context.Context, c *conn) error {
	s := &sender{p: p, c: c}
	if err := s.status(ctx, wire.StateOnline); err != nil {
		return err
	}
	// Everything in flight went over a connection that is gone: send again.
	for _, f := range p.inflight {
		f.sentAt = time.Time{}
	}
	tick := time.NewTicker(min(max(p.cfg.AckTimeout/4, 50*time.Millisecond), time.Second))
	defer tick.Stop()
	statusTick := time.NewTicker(p.cfg.StatusInterval)
	defer statusTick.Stop()
	for {
		if err := s.resendDue(ctx, time.Now()); err != nil {
			return s.end(ctx, err)
		}
		if err := s.fill(ctx); err != nil {
			return s.end(ctx, err)
		}
		var poll <-chan time.Time
		if len(p.inflight) < p.cfg.Window {
			poll = time.After(idlePoll)
		}
		select {
		case <-ctx.Done():
			return s.end(ctx, ctx.Err())
		case <-c.lost:
			return errConnectionLost
		case <-p.acks.ready():
			if err := p.handleAcks(); err != nil {
				return err
			}
		case <-p.failed:
			return p.failure()
		case <-p.ob.Changed():
		case <-poll:
		case <-tick.C:
		case <-statusTick.C:
			if err := s.status(ctx, wire.StateOnline); err != nil {
				return s.end(ctx, err)
			}
		case <-p.reportNow:
			if err := s.status(ctx, wire.StateOnline); err != nil {
				return s.end(ctx, err)
			}
		}
	}
}

// sender publishes over one connection.
type sender struct {
	p       *Publisher
	c       *conn
	pending []mqtt.Token
}

// end closes the session: on cancellation it waits for outstanding acks up
// to the flush deadline, publishes the offline status and disconnects.
func (s *sender) end(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	p := s.p
	flush, cancel := context.WithTimeout(context.Background(), p.cfg.FlushTimeout)
	defer cancel()
	for len(p.inflight) > 0 {
		select {
		case <-p.acks.ready():
			if err := p.handleAcks(); err != nil {
				return err
			}
			continue
		case <-flush.Done():
		case <-s.c.lost:
		}
		break
	}
	if len(p.inflight) > 0 {
		p.log.Info("publisher stopping with items in flight; they stay in the outbox", "in_flight", len(p.inflight))
	}
	select {
	case <-s.c.lost:
	default:
		if err := s.status(flush, wire.StateOffline); err != nil {
			p.log.Debug("publish offline status", "err", err)
		}
		s.c.client.Disconnect(250)
	}
	return nil
}

// status publishes the retained status message.
func (s *sender) status(ctx context.Context, state string) error {
	p := s.p
	st := wire.Status{Device: p.cfg.Device, State: state, Version: p.cfg.Version, Time: time.Now().UTC()}
	if d := p.cfg.Downlink; d != nil {
		st.Reported = d.Report()
	}
	if os, err := p.ob.Stats(); err == nil {
		st.OutboxDepth, st.OutboxBytes, st.MaxBytes = os.Depth, os.Bytes, os.MaxBytes
		st.Evictions, st.Refused, st.DeadLetters = os.Evictions, os.Refused, os.DeadLetters
		if !os.Oldest.IsZero() {
			st.OldestAgeSeconds = time.Since(os.Oldest).Seconds()
		}
	} else {
		p.log.Warn("outbox stats", "err", err)
	}
	b, err := wire.EncodeStatus(st)
	if err != nil {
		return &fatalError{fmt.Errorf("encode status: %w", err)}
	}
	if err := wait(ctx, s.c.client.Publish(p.topics.Status(p.cfg.Device), 1, true, b), s.c.lost); err != nil {
		return fmt.Errorf("publish status: %w", err)
	}
	return nil
}

// fill reads records after the cursor and sends them until the window is
// full or the outbox has nothing more.
func (s *sender) fill(ctx context.Context) error {
	p := s.p
	p.settled()
	if slices.ContainsFunc(p.inflight, func(f *flight) bool { return f.overdue }) {
		return nil // hold new items until the overdue ones are acknowledged
	}
	for len(p.inflight) < p.cfg.Window {
		if len(p.inflight) == 0 {
			// Nothing in flight: start from the oldest record, so that a
			// record that came back (a replayed dead letter) is not skipped.
			p.cursor = ""
		}
		recs, err := p.next(p.cursor, p.cfg.Window-len(p.inflight))
		if err != nil {
			return &fatalError{fmt.Errorf("read outbox: %w", err)}
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			p.cursor = r.ID
			if _, ok := p.byID[r.ID]; ok || p.applying[r.ID] {
				continue
			}
			f := &flight{rec: r}
			p.inflight = append(p.inflight, f)
			p.byID[r.ID] = f
			p.nInFlight.Store(int64(len(p.inflight)))
			if err := s.send(ctx, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// next reads up to n records after the cursor. With an outbox that can
// pass over records unread (*outbox.Outbox), the items in flight or being
// acknowledged are not decoded again, each a copy and a SHA-256 of the
// whole item; fill skips them either way.
func (p *Publisher) next(after string, n int) ([]outbox.Record, error) {
	if sn, ok := p.ob.(skipNexter); ok {
		return sn.NextSkip(after, n, func(id string) bool {
			_, ok := p.byID[id]
			return ok || p.applying[id]
		})
	}
	return p.ob.Next(after, n)
}

// skipNexter is an Outbox whose Next can pass over records unread.
type skipNexter interface {
	NextSkip(after string, n int, skip func(id string) bool) ([]outbox.Record, error)
}

// ackManyer is an Outbox that removes several acknowledged items in one
// commit.
type ackManyer interface {
	AckMany(ids ...string) (int, error)
}

// resendDue sends again, in outbox order, every item whose ack is overdue
// or that was in flight over a lost connection. An overdue item holds back
// new items (see fill) until it is acknowledged, so that the cloud stores
// each device's items in outbox order even when frames were lost without
// the connection dropping.
func (s *sender) resendDue(ctx context.Context, now time.Time) error {
	p := s.p
	for _, f := range slices.Clone(p.inflight) { // send may reject, which edits p.inflight
		if !f.sentAt.IsZero() && now.Sub(f.sentAt) < p.cfg.AckTimeout {
			continue
		}
		if _, ok := p.byID[f.rec.ID]; !ok { // acknowledged or rejected while sending
			continue
		}
		if f.sends > 0 {
			p.counters.retransmitted.Add(1)
			if f.sentAt.IsZero() {
				p.log.Info("sending item again after a reconnect", "item", f.rec.ID, "sends", f.sends)
			} else {
				f.overdue = true
				p.log.Info("sending item again: no ack in time", "item", f.rec.ID, "sends", f.sends, "unacked_for", now.Sub(f.sentAt).Round(time.Millisecond))
			}
		}
		if err := s.send(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// send publishes every chunk of f's item. It returns an error only when the
// connection (or ctx) is gone; an item that cannot be chunked is rejected
// locally.
func (s *sender) send(ctx context.Context, f *flight) error {
	p := s.p
	it := f.rec.Item
	if it.Meta.Device != p.cfg.Device {
		return p.reject(f.rec.ID, fmt.Sprintf("item device %q is not this publisher's device %q", it.Meta.Device, p.cfg.Device))
	}
	var frames [][]byte
	var err error
	if f.rec.Digest != "" { // checked when the outbox read it: not computed again
		frames, err = wire.ChunkDigest(it, f.rec.Digest, p.cfg.ChunkSize)
	} else {
		frames, err = wire.Chunk(it, p.cfg.ChunkSize)
	}
	if err != nil {
		return p.reject(f.rec.ID, fmt.Sprintf("chunk: %v", err))
	}
	topic := p.topics.Item(p.cfg.Device)
	n := 0
	for _, fr := range frames {
		if err := p.limit.wait(ctx, len(fr)); err != nil {
			return err
		}
		t := s.c.client.Publish(topic, 1, false, fr)
		s.pending = append(s.pending, t)
		if len(s.pending) >= maxPendingTokens {
			if err := s.drainTokens(ctx, maxPendingTokens/2); err != nil {
				return err
			}
		}
		n += len(fr)
	}
	f.sends++
	f.sentAt = time.Now()
	p.counters.published.Add(1)
	p.counters.publishedBytes.Add(int64(n))
	p.log.Debug("item sent", "item", f.rec.ID, "chunks", len(frames), "bytes", n, "sends", f.sends)
	return nil
}

// drainTokens waits until at most keep frames are outstanding at the
// broker. A token's success is only flow control, never proof of delivery.
func (s *sender) drainTokens(ctx context.Context, keep int) error {
	for len(s.pending) > keep {
		if err := wait(ctx, s.pending[0], s.c.lost); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		s.pending[0] = nil
		s.pending = s.pending[1:]
	}
	return nil
}

// handleAcks applies every ack waiting.
func (p *Publisher) handleAcks() error {
	for _, a := range p.acks.take() {
		if err := p.handleAck(a); err != nil {
			return err
		}
	}
	return nil
}

// handleAck takes one ack of the cloud: the item leaves the window at once,
// and the applier goroutine applies the ack to the outbox (Ack or Reject,
// each a commit with its fsync) while sending goes on. Until then the id is
// in p.applying, so that fill does not read the record again.
func (p *Publisher) handleAck(a wire.Ack) error {
	f, inFlight := p.byID[a.ItemID]
	if p.cfg.CloudKey != nil && !p.verified(a, f, inFlight) {
		return nil
	}
	if inFlight && !f.sentAt.IsZero() {
		p.latency.observe(time.Since(f.sentAt))
	}
	switch a.Status {
	case wire.AckStored:
		p.counters.acked.Add(1)
		if inFlight {
			p.log.Debug("item acknowledged", "item", a.ItemID, "duplicate", a.Duplicate, "sends", f.sends)
		} else {
			p.log.Debug("item acknowledged (not in flight)", "item", a.ItemID)
		}
	case wire.AckRejected:
		if !inFlight {
			p.log.Debug("rejection for an item not in flight", "item", a.ItemID, "reason", a.Reason)
			return nil
		}
		p.counters.rejected.Add(1)
		p.log.Warn("item rejected by the cloud", "item", a.ItemID, "reason", a.Reason)
	default:
		p.log.Warn("ack with unknown status", "item", a.ItemID, "status", a.Status)
		return nil
	}
	if !p.markApplying(a.ItemID) {
		return nil // an earlier ack of the same item is being applied
	}
	p.forget(a.ItemID)
	p.applyQ.push(a)
	return nil
}

// verified reports whether a is the cloud's signed receipt for the item f
// in flight, whose SHA-256 it must name. Anything else is logged, counted
// and ignored: the item stays in the outbox and is sent again.
func (p *Publisher) verified(a wire.Ack, f *flight, inFlight bool) bool {
	if !inFlight {
		// Without the item in hand there is no SHA-256 to check: the item
		// (if still in the outbox) is sent again and acked again.
		p.log.Debug("ack for an item not in flight ignored", "item", a.ItemID, "status", a.Status)
		return false
	}
	sum := f.rec.Digest
	if sum == "" {
		sum = wire.BodyDigest(f.rec.Item)
		f.rec.Digest = sum
	}
	if err := wire.VerifyAck(p.cfg.CloudKey, p.cfg.Device, a, sum); err != nil {
		p.counters.badAcks.Add(1)
		p.log.Warn("ack ignored: not a receipt of the cloud", "item", a.ItemID, "status", a.Status, "err", err,
			"bad_acks", p.counters.badAcks.Load())
		return false
	}
	return true
}

// markApplying records that an ack of id is being applied; false if one
// already is. Only Run's goroutine touches p.applying: an id leaves it when
// Run takes the applier's notice (settled), which comes after the outbox
// commit, so a Next that could still see the record always finds the id
// here.
func (p *Publisher) markApplying(id string) bool {
	if p.applying[id] {
		return false
	}
	p.applying[id] = true
	p.nApplying.Add(1)
	return true
}

// settled drops from p.applying the ids whose acks the outbox has applied.
func (p *Publisher) settled() {
	for _, a := range p.doneQ.take() {
		delete(p.applying, a.ItemID)
	}
}

// applyAcks applies acks to the outbox until stop is closed and the queue
// is empty.
func (p *Publisher) applyAcks(stop <-chan struct{}) {
	for {
		p.applyAll(p.applyQ.take())
		select {
		case <-p.applyQ.ready():
		case <-stop:
			p.applyAll(p.applyQ.take())
			return
		}
	}
}

// applyAll applies acks in order. With an outbox that has AckMany
// (*outbox.Outbox), each run of stored acks is removed in one commit, so
// acks that came while the previous commit was syncing share the next one.
func (p *Publisher) applyAll(acks []wire.Ack) {
	am, ok := p.ob.(ackManyer)
	if !ok {
		for _, a := range acks {
			p.apply(a)
		}
		return
	}
	for len(acks) > 0 {
		if acks[0].Status != wire.AckStored {
			p.apply(acks[0])
			acks = acks[1:]
			continue
		}
		n := 1
		for n < len(acks) && acks[n].Status == wire.AckStored {
			n++
		}
		run := acks[:n]
		acks = acks[n:]
		if n == 1 {
			p.apply(run[0])
			continue
		}
		ids := make([]string, n)
		for i, a := range run {
			ids[i] = a.ItemID
		}
		removed, err := am.AckMany(ids...)
		if err == nil && removed < n {
			p.log.Debug("acks for items no longer in the outbox", "acks", n, "removed", removed)
		}
		for _, a := range run {
			p.applied(a, err)
		}
	}
}

func (p *Publisher) apply(a wire.Ack) {
	var err error
	if a.Status == wire.AckStored {
		err = p.ob.Ack(a.ItemID)
	} else {
		err = p.ob.Reject(a.ItemID, a.Reason)
	}
	if errors.Is(err, outbox.ErrNotFound) {
		p.log.Debug("ack for an item no longer in the outbox", "item", a.ItemID)
		err = nil
	}
	p.applied(a, err)
}

// applied tells Run that a has been applied (or failed with err).
func (p *Publisher) applied(a wire.Ack, err error) {
	p.doneQ.push(a)
	p.nApplying.Add(-1)
	p.mu.Lock()
	if err != nil && p.applyErr == nil {
		p.applyErr = fmt.Errorf("apply ack of %s to the outbox: %w", a.ItemID, err)
		close(p.failed)
	}
	p.mu.Unlock()
}

// failure returns the applier's error, once it has failed.
func (p *Publisher) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return &fatalError{p.applyErr}
}

// reject moves an item that can never be sent to the dead letters.
func (p *Publisher) reject(id, reason string) error {
	if err := p.ob.Reject(id, reason); err != nil {
		return &fatalError{fmt.Errorf("outbox reject %s: %w", id, err)}
	}
	p.counters.rejected.Add(1)
	p.log.Warn("item rejected by the publisher", "item", id, "reason", reason)
	p.forget(id)
	return nil
}

func (p *Publisher) forget(id string) {
	if _, ok := p.byID[id]; !ok {
		return
	}
	delete(p.byID, id)
	for i, f := range p.inflight {
		if f.rec.ID == id {
			p.inflight = append(p.inflight[:i], p.inflight[i+1:]...)
			break
		}
	}
	p.nInFlight.Store(int64(len(p.inflight)))
}
