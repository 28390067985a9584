package ingest

import (
	"context"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Staging: how any receiver finishes any item.
//
// Behind a shared subscription the broker hands each chunk to one receiver
// of the group, so the chunks of one item are spread over the receivers. A
// receiver keeps the chunks it gets in memory (sync/wire's Reassembler) and
// stores an item it completes at once: one receiver alone never stages
// anything. An item that has waited SpillAfter for its next chunk, or any
// item once MaxHeldBytes are held, is spilled: its chunks are written to
// the shared Staging (the database), and later chunks of it that reach this
// receiver go there too. After each write the receiver counts the item's
// staged chunks; the receiver whose write completes the set takes the
// chunks (one DELETE ... RETURNING: of receivers taking the same item at
// once, one gets them) and assembles, checks, stores and acknowledges the
// item. A receiver that dies loses only chunks held in its memory, which the
// device sends again when no ack comes. Staged chunks of items that never
// complete are removed after the reassembly timeout.

// spill hands the incomplete items that have waited SpillAfter (or that
// exceed MaxHeldBytes) to the workers for staging.
func (r *Receiver) spill(ctx context.Context, now time.Time) {
	if r.cfg.Staging == nil {
		return
	}
	r.mu.Lock()
	parts := r.reasm.Take(now.Add(-r.cfg.SpillAfter), r.cfg.MaxHeldBytes)
	for _, p := range parts {
		r.spilled[spillKey{p.Device, p.ItemID}] = now.Add(r.limits().Timeout)
	}
	n, held := r.reasm.InProgress(), r.reasm.Held()
	r.mu.Unlock()
	r.metrics.Reassembling.Set(float64(n))
	r.metrics.HeldBytes.Set(float64(held))
	for i := range parts {
		p := &parts[i]
		r.log.Debug("item spilled to staging", "item", p.ItemID, "device", p.Device, "chunks_held", len(p.Frames), "chunks", p.Chunks)
		r.enqueue(job{device: p.Device, stage: p, done: now}, ctx.Done())
	}
}

// spilledFrame returns frame as a one-chunk Partial when its item was
// spilled (its chunks go to Staging), and nil otherwise (also for frames
// that do not parse: the Reassembler rejects them).
func (r *Receiver) spilledFrame(device string, frame []byte, now time.Time) *wire.Partial {
	if r.cfg.Staging == nil {
		return nil
	}
	r.mu.Lock()
	none := len(r.spilled) == 0
	r.mu.Unlock()
	if none {
		return nil
	}
	h, _, err := wire.ParseFrame(frame)
	if err != nil || h.Device != device || h.Chunks < 2 {
		return nil
	}
	k := spillKey{device, h.ItemID}
	r.mu.Lock()
	until, ok := r.spilled[k]
	if ok && now.Before(until) {
		r.spilled[k] = now.Add(r.limits().Timeout)
	}
	r.mu.Unlock()
	if !ok || !now.Before(until) {
		return nil
	}
	return &wire.Partial{Device: device, ItemID: h.ItemID, Chunks: h.Chunks, Last: now,
		Frames: []wire.ChunkFrame{{Chunk: h.Chunk, Frame: append([]byte(nil), frame...)}}}
}

// stage writes j's chunks to Staging and, when that completes the item,
// takes all of its chunks, assembles the item and stores it.
func (r *Receiver) stage(j job) {
	p := j.stage
	log := logItem(r.log, p.ItemID, p.Device)
	cs := make([]db.StagedChunk, len(p.Frames))
	for i, f := range p.Frames {
		cs[i] = db.StagedChunk{Device: p.Device, ItemID: p.ItemID, Chunk: f.Chunk, Chunks: p.Chunks, Frame: f.Frame}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	staged, err := r.cfg.Staging.StageChunks(ctx, cs)
	if err != nil {
		r.metrics.Failed.WithLabelValues("mqtt").Inc()
		r.warn.Warn("chunks not staged; the device will send the item again", "item", p.ItemID, "device", p.Device, "chunks", len(cs), "err", err)
		return
	}
	r.metrics.Staged.Add(float64(len(cs)))
	if staged < p.Chunks {
		log.Debug("chunks staged", "chunks", len(cs), "staged", staged, "of", p.Chunks)
		return
	}
	taken, err := r.cfg.Staging.TakeStaged(ctx, p.Device, p.ItemID)
	if err != nil {
		r.metrics.Failed.WithLabelValues("mqtt").Inc()
		r.warn.Warn("staged chunks not taken; the device will send the item again", "item", p.ItemID, "device", p.Device, "err", err)
		return
	}
	if len(taken) < p.Chunks {
		// Another receiver took the chunks first (these are copies that
		// came after): it stores the item.
		log.Debug("staged item taken by another receiver", "copies", len(taken))
		return
	}
	r.metrics.FromStaging.Inc()
	ra := wire.NewReassembler(r.cfg.Limits)
	for _, c := range taken {
		it, err := ra.AddFrom(p.Device, c.Frame, j.done)
		if err == nil && it == nil {
			continue
		}
		log.Debug("item assembled from staged chunks", "chunks", len(taken), "err", err)
		if it := r.accept(p.Device, it, err); it != nil {
			r.store(job{device: p.Device, item: *it, done: j.done}) // here: this is a worker
		}
		return
	}
	log.Warn("staged chunks did not make an item", "chunks", len(taken))
}

// expireStaged removes staged chunks older than the reassembly timeout.
func (r *Receiver) expireStaged(now time.Time) {
	r.mu.Lock()
	for k, until := range r.spilled {
		if !now.Before(until) {
			delete(r.spilled, k)
		}
	}
	r.mu.Unlock()
	if r.cfg.Staging == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := r.cfg.Staging.ExpireStaged(ctx, now.Add(-r.limits().Timeout))
	if err != nil {
		r.log.Warn("expire staged chunks", "err", err)
		return
	}
	if n > 0 {
		r.metrics.StagedExpired.Add(float64(n))
		r.log.Info("staged chunks expired (their items never completed; devices send them again)", "chunks", n)
	}
}

// janitorEvery is how often expireStaged runs.
func (r *Receiver) janitorEvery() time.Duration {
	return min(max(r.limits().Timeout/4, time.Second), 30*time.Second)
}

// limits are the reassembly limits with their defaults.
func (r *Receiver) limits() wire.Limits {
	l := r.cfg.Limits
	if l.Timeout <= 0 {
		l.Timeout = wire.DefaultTimeout
	}
	return l
}
