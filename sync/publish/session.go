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

// idlePoll is how often the outbox is looked at when it signals nothing:
// a safety net, since Put and Replay signal (Outbox.Changed). With ten
// thousand devices simulated in one process, every wake-up counts.
const idlePoll = 5 * time.Second

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
		// The signature is checked here, off Run's goroutine; Run checks
		// that the SHA-256 it names is the item's (see verified).
		if p.cfg.CloudKey != nil {
			if err := wire.VerifyAck(p.cfg.CloudKey, p.cfg.Device, a, a.SHA256); err != nil {
				p.badAck(a, err)
				return
			}
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
	if err := waitToken(ctx, c.client.Connect(), nil); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	p.counters.connects.Add(1)
	p.counters.connected.Store(true)
	// Not waited for here: the broker handles this connection's packets in
	// order, so the subscription is in place before any item sent after it
	// can be acknowledged, and the session checks the answer (a refusal
	// ends it) while it sends.
	c.subscribed = c.client.Subscribe(ackTopic, 1, onAck)
	if err := p.subscribeDownlink(ctx, c, onAck); err != nil {
		c.client.Disconnect(0)
		return nil, fmt.Errorf("subscribe to the downlink: %w", err)
	}
	p.log.Info("mqtt connected", "client_id", p.cfg.ClientID, "reconnects", max(0, p.counters.connects.Load()-1))
	return c, nil
}

// waitToken waits for t, ctx or lost, whichever comes first.
func waitToken(ctx context.Context, t mqtt.Token, lost <-chan struct{}) error {
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
	s := newSender(p, c)
	defer s.stopWriter()
	if err := s.status(ctx, wire.StateOnline, false); err != nil {
		return err
	}
	subscribed := c.subscribed.Done()
	// Everything in flight went over a connection that is gone: send again.
	for _, f := range p.inflight {
		f.sentAt = time.Time{}
	}
	tick := time.NewTicker(min(max(p.cfg.AckTimeout/4, 50*time.Millisecond), time.Second))
	defer tick.Stop()
	statusTick := time.NewTicker(p.cfg.StatusInterval)
	defer statusTick.Stop()
	idle := time.NewTimer(idlePoll)
	defer idle.Stop()
	for {
		if err := s.resendDue(ctx, time.Now()); err != nil {
			return s.end(ctx, err)
		}
		if err := s.fill(ctx); err != nil {
			return s.end(ctx, err)
		}
		var poll, resend <-chan time.Time
		if len(p.inflight) < p.cfg.Window {
			idle.Reset(idlePoll)
			poll = idle.C
		}
		if len(p.inflight) > 0 {
			resend = tick.C // nothing to send again otherwise
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
		case <-subscribed:
			if err := subscribeError(c.subscribed); err != nil {
				return fmt.Errorf("subscribe to acks: %w", err)
			}
			subscribed = nil
		case <-p.ob.Changed():
		case <-poll:
		case <-resend:
		case <-statusTick.C:
			if err := s.status(ctx, wire.StateOnline, false); err != nil {
				return s.end(ctx, err)
			}
		case <-p.reportNow:
			if err := s.status(ctx, wire.StateOnline, false); err != nil {
				return s.end(ctx, err)
			}
		}
	}
}

// sender publishes over one connection. Run's goroutine reads the outbox,
// takes acks and hands each item's frames to the writer goroutine, which
// publishes them: writing a frame to the socket (paho's Publish returns
// once its frame is taken for writing) overlaps the reads and acks.
type sender struct {
	p    *Publisher
	c    *conn
	out  chan [][]byte      // an item's frames, for the writer
	stop context.CancelFunc // ends the writer's context
	done chan struct{}      // closed when the writer has returned
}

// writerQueue is how many items may wait for the writer.
const writerQueue = 4

// newSender starts the writer. It outlives the session's context, so that
// the frames handed to it are written during the flush; stopWriter ends it.
func newSender(p *Publisher, c *conn) *sender {
	wctx, stop := context.WithCancel(context.Background())
	s := &sender{p: p, c: c, out: make(chan [][]byte, writerQueue), stop: stop, done: make(chan struct{})}
	go s.write(wctx)
	return s
}

// write publishes the frames handed to it, in order, until ctx ends
// (stopWriter) or the connection is lost. With at most
// maxPendingTokens frames not yet acknowledged by the broker (PUBACK), it
// waits for the oldest.
func (s *sender) write(ctx context.Context) {
	defer close(s.done)
	p := s.p
	topic := p.topics.Item(p.cfg.Device)
	var pending []mqtt.Token
	for {
		var frames [][]byte
		select {
		case frames = <-s.out:
		case <-ctx.Done():
			return
		case <-s.c.lost:
			return
		}
		for _, fr := range frames {
			if err := p.limit.wait(ctx, len(fr)); err != nil {
				return
			}
			pending = append(pending, s.c.client.Publish(topic, 1, false, fr))
			for len(pending) >= maxPendingTokens {
				// A token's success is only flow control, never proof of
				// delivery.
				if err := waitToken(ctx, pending[0], s.c.lost); err != nil {
					return // the session sees the loss (or ctx) too
				}
				pending[0] = nil
				pending = pending[1:]
			}
		}
	}
}

// stopWriter stops the writer and waits for it; frames it had not
// published are dropped (their items are sent again on reconnection).
func (s *sender) stopWriter() {
	s.stop()
	<-s.done
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
	s.stopWriter()
	select {
	case <-s.c.lost:
	default:
		if err := s.status(flush, wire.StateOffline, true); err != nil {
			p.log.Debug("publish offline status", "err", err)
		}
		s.c.client.Disconnect(250)
	}
	return nil
}

// subscribeError is the error of a completed subscription: the token's,
// or the broker's refusal (SUBACK 0x80).
func subscribeError(t mqtt.Token) error {
	if err := t.Error(); err != nil {
		return err
	}
	if st, ok := t.(*mqtt.SubscribeToken); ok {
		for topic, code := range st.Result() {
			if code == 0x80 {
				return fmt.Errorf("the broker refused %s", topic)
			}
		}
	}
	return nil
}

// status publishes the retained status message, waiting for the broker's
// PUBACK when wait is set (the offline status before disconnecting).
func (s *sender) status(ctx context.Context, state string, wait bool) error {
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
	t := s.c.client.Publish(p.topics.Status(p.cfg.Device), 1, true, b)
	if !wait {
		return nil // a status that does not arrive is replaced by the next
	}
	if err := waitToken(ctx, t, s.c.lost); err != nil {
		return fmt.Errorf("publish status: %w", err)
	}
	return nil
}

// fill reads records after the cursor and sends them until the window
// (Config.Window items, Config.WindowBytes bytes) is full or the outbox has
// nothing more. It reads one record at a time (a read transaction costs
// microseconds), so that it never holds more than the window.
func (s *sender) fill(ctx context.Context) error {
	p := s.p
	p.settled()
	if slices.ContainsFunc(p.inflight, func(f *flight) bool { return f.overdue }) {
		return nil // hold new items until the overdue ones are acknowledged
	}
	for len(p.inflight) < p.cfg.Window && (len(p.inflight) == 0 || p.inBytes < p.cfg.WindowBytes) {
		if len(p.inflight) == 0 {
			// Nothing in flight: start from the oldest record, so that a
			// record that came back (a replayed dead letter) is not skipped.
			p.cursor = ""
		}
		recs, err := p.next(p.cursor, 1)
		if err != nil {
			return &fatalError{fmt.Errorf("read outbox: %w", err)}
		}
		if len(recs) == 0 {
			return nil
		}
		r := recs[0]
		p.cursor = r.ID
		if _, ok := p.byID[r.ID]; ok || p.applying[r.ID] {
			continue
		}
		f := &flight{rec: r}
		p.inflight = append(p.inflight, f)
		p.inBytes += int64(r.Size)
		p.byID[r.ID] = f
		p.nInFlight.Store(int64(len(p.inflight)))
		if err := s.send(ctx, f); err != nil {
			return err
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

// send hands every chunk of f's item to the writer. It returns an error
// only when the connection (or ctx) is gone; an item that cannot be
// chunked is rejected locally.
func (s *sender) send(ctx context.Context, f *flight) error {
	p := s.p
	frames, err := p.frames(f)
	if err != nil {
		return p.reject(f.rec.ID, err.Error())
	}
	select {
	case s.out <- frames:
	case <-s.c.lost:
		return errConnectionLost
	case <-ctx.Done():
		return ctx.Err()
	}
	n := 0
	for _, fr := range frames {
		n += len(fr)
	}
	f.sends++
	f.sentAt = time.Now()
	p.counters.published.Add(1)
	p.counters.publishedBytes.Add(int64(n))
	p.log.Debug("item sent", "item", f.rec.ID, "chunks", len(frames), "bytes", n, "sends", f.sends)
	return nil
}

// frames returns f's frames as they are published, at most
// Config.ChunkSize bytes each: the outbox's frames as they were stored
// (the common case: the outbox and the publisher share the chunk size),
// else the item chunked here, once.
func (p *Publisher) frames(f *flight) ([][]byte, error) {
	r := &f.rec
	if len(r.Frames) > 0 && !slices.ContainsFunc(r.Frames, func(b []byte) bool { return len(b) > p.cfg.ChunkSize }) {
		return r.Frames, nil
	}
	it := r.Item
	if it.Meta.ItemID == "" { // frames larger than this publisher sends: chunk again
		var err error
		if it, err = wire.Join(r.Frames); err != nil {
			return nil, fmt.Errorf("read frames: %v", err)
		}
	}
	if it.Meta.Device != p.cfg.Device {
		return nil, fmt.Errorf("item device %q is not this publisher's device %q", it.Meta.Device, p.cfg.Device)
	}
	var err error
	if r.Digest != "" { // known (the outbox stored it): not computed again
		r.Frames, err = wire.ChunkDigest(it, r.Digest, p.cfg.ChunkSize)
	} else {
		r.Frames, err = wire.Chunk(it, p.cfg.ChunkSize)
	}
	if err != nil {
		return nil, fmt.Errorf("chunk: %v", err)
	}
	return r.Frames, nil
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

// verified reports whether a, whose signature the ack handler checked, is
// the cloud's receipt for the item f in flight: it must name the item's
// SHA-256. Anything else is logged, counted and ignored: the item stays in
// the outbox and is sent again.
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
	if a.SHA256 != sum {
		p.badAck(a, fmt.Errorf("%w: ack names %.12s..., item is %.12s...", wire.ErrAckWrongDigest, a.SHA256, sum))
		return false
	}
	return true
}

// badAck counts and logs an ack that is not a receipt of the cloud.
func (p *Publisher) badAck(a wire.Ack, err error) {
	n := p.counters.badAcks.Add(1)
	p.log.Warn("ack ignored: not a receipt of the cloud", "item", a.ItemID, "status", a.Status, "err", err, "bad_acks", n)
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

// Group commit of acks: while items are still in flight, the applier lets
// acks gather for up to ackBatchWait (or ackBatchMax of them) and removes
// them in one outbox commit, so that a fast drain costs a few fsyncs, not
// one per item. Nothing waits on it but the removal itself: an acked item
// has left the window already. With nothing in flight it commits at once.
const (
	ackBatchWait = 25 * time.Millisecond
	ackBatchMax  = 256
)

// applyAcks applies acks to the outbox until stop is closed and the queue
// is empty.
func (p *Publisher) applyAcks(stop <-chan struct{}) {
	for {
		p.applyAll(p.gatherAcks(stop))
		select {
		case <-p.applyQ.ready():
		case <-stop:
			p.applyAll(p.applyQ.take())
			return
		}
	}
}

// gatherAcks takes the acks waiting and, while items are in flight, those
// that come within ackBatchWait (see ackBatchMax).
func (p *Publisher) gatherAcks(stop <-chan struct{}) []wire.Ack {
	acks := p.applyQ.take()
	if len(acks) == 0 {
		return nil
	}
	t := time.NewTimer(ackBatchWait)
	defer t.Stop()
	for len(acks) < ackBatchMax && p.nInFlight.Load() > 0 {
		select {
		case <-p.applyQ.ready():
			acks = append(acks, p.applyQ.take()...)
		case <-t.C:
			return acks
		case <-stop:
			return acks
		}
	}
	return acks
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
			p.inBytes -= int64(f.rec.Size)
			break
		}
	}
	p.nInFlight.Store(int64(len(p.inflight)))
}
