package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sort"
	"sync"
	"time"
)

// Limits bound what a Reassembler holds. Zero fields take the defaults.
type Limits struct {
	MaxItemBytes  int           // largest item body accepted; default 32 MiB
	MaxInProgress int           // most incomplete items held at once; default 256
	Timeout       time.Duration // how long an incomplete item is kept after its last chunk; default 2m
}

// Default limits.
const (
	DefaultMaxItemBytes  = 32 << 20
	DefaultMaxInProgress = 256
	DefaultTimeout       = 2 * time.Minute
)

func (l Limits) withDefaults() Limits {
	if l.MaxItemBytes <= 0 {
		l.MaxItemBytes = DefaultMaxItemBytes
	}
	if l.MaxInProgress <= 0 {
		l.MaxInProgress = DefaultMaxInProgress
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

// Reassembler joins chunk frames into items. It holds at most
// MaxInProgress incomplete items of at most MaxItemBytes each, and it
// allocates only for bytes it has received, never from sizes a header
// claims. It is safe for concurrent use.
//
// Semantics (docs/protocol.md, "Reassembly"): an exact copy of a chunk it
// already holds is ignored (an MQTT QoS 1 redelivery); a different copy is
// rejected and the item dropped. Once an item is complete it is returned and
// forgotten: a full retransmission is reassembled and returned again (the
// receiver's storage is idempotent by item id), a lone late chunk of it
// starts a new assembly that expires.
type Reassembler struct {
	l       Limits
	mu      sync.Mutex
	pending map[key]*partial
	held    int64 // frame bytes held in pending
}

type key struct{ device, id string }

// piece is one chunk received: its frame's head (to recognise an exact
// copy), where its body goes, and the body itself while it waits for the
// chunks before it (nil once it is in the item's buffer).
type piece struct {
	head []byte
	off  int64
	n    int64
	data []byte
}

// partial is an item being reassembled. The chunks' bodies go, in chunk
// order, into one buffer that grows with the bytes received (at most twice
// them, never more than the header's total), and into the SHA-256 as they
// do, so that completing an item costs no copy and no pass over it. A chunk
// that comes before the one it follows waits as a piece of its own.
type partial struct {
	first    Header // header of the first chunk received (without Meta/Parts)
	head     *Header
	chunks   map[int]*piece
	buf      []byte    // bodies of chunks 0..next-1
	next     int       // the chunk that buf waits for
	sum      hash.Hash // SHA-256 of buf
	received int64
	bytes    int64 // frame bytes held (heads and bodies)
	last     time.Time
}

// NewReassembler returns a Reassembler with limits l.
func NewReassembler(l Limits) *Reassembler {
	return &Reassembler{l: l.withDefaults(), pending: map[key]*partial{}}
}

// Add takes one frame received at now. It returns the item when frame
// completes it, nil otherwise. Errors are *RejectError; after one, the
// frame's item (if known) is no longer held. The item's data does not alias
// frame.
func (r *Reassembler) Add(frame []byte, now time.Time) (*Item, error) {
	return r.add(frame, now, "")
}

// AddFrom is Add for a frame received on the item topic of device (see
// Topics.Parse): a frame whose header names another device is rejected
// with ReasonDeviceMismatch.
func (r *Reassembler) AddFrom(device string, frame []byte, now time.Time) (*Item, error) {
	return r.add(frame, now, device)
}

func (r *Reassembler) add(frame []byte, now time.Time, topicDevice string) (_ *Item, err error) {
	h, body, err := ParseFrame(frame)
	if err != nil {
		return nil, err
	}
	defer func() {
		if re, ok := err.(*RejectError); ok && re.SHA256 == "" {
			re.SHA256 = h.SHA256 // so that a signed rejection can name it
		}
	}()
	id, dev := h.ItemID, h.Device
	if topicDevice != "" && dev != topicDevice {
		return nil, reject(id, topicDevice, ReasonDeviceMismatch, "frame of device %q on the topic of %q", dev, topicDevice)
	}
	if h.Total > int64(r.l.MaxItemBytes) {
		r.drop(key{dev, id})
		return nil, reject(id, dev, ReasonTooLarge, "item of %d bytes, limit %d", h.Total, r.l.MaxItemBytes)
	}
	if h.Chunks == 1 {
		// The common small item: no state.
		if int64(len(body)) != h.Total {
			return nil, reject(id, dev, ReasonSizeMismatch, "single chunk of %d bytes, header says %d", len(body), h.Total)
		}
		if digest(body) != h.SHA256 {
			return nil, reject(id, dev, ReasonDigestMismatch, "body does not match its SHA-256")
		}
		it := itemFrom(&h, append([]byte(nil), body...))
		r.mu.Lock()
		r.remove(key{dev, id})
		r.mu.Unlock()
		return &it, nil
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{dev, id}
	p := r.pending[k]
	if p == nil {
		if len(r.pending) >= r.l.MaxInProgress {
			return nil, reject(id, dev, ReasonTooManyInProgress, "%d items in progress", len(r.pending))
		}
		p = &partial{first: h, chunks: map[int]*piece{}, sum: sha256.New()}
		p.first.Meta, p.first.Parts = nil, nil
		r.pending[k] = p
	} else if f := p.first; f.Seq != h.Seq || f.Chunks != h.Chunks || f.Total != h.Total || f.SHA256 != h.SHA256 {
		r.remove(k)
		return nil, reject(id, dev, ReasonHeaderMismatch, "chunk %d disagrees with earlier chunks on seq, count, total or digest", h.Chunk)
	}
	head := frame[:len(frame)-len(body)]
	if old, ok := p.chunks[h.Chunk]; ok {
		if bytes.Equal(p.body(old), body) && bytes.Equal(old.head, head) {
			p.last = now
			return nil, nil // redelivery of a chunk we hold
		}
		r.remove(k)
		return nil, reject(id, dev, ReasonDuplicateChunk, "second, different copy of chunk %d", h.Chunk)
	}
	if p.received+int64(len(body)) > h.Total {
		r.remove(k)
		return nil, reject(id, dev, ReasonSizeMismatch, "chunks add up to more than %d bytes", h.Total)
	}
	pc := &piece{head: append([]byte(nil), head...), off: h.Offset, n: int64(len(body))}
	if h.Chunk != p.next {
		pc.data = append([]byte(nil), body...)
	}
	p.chunks[h.Chunk] = pc
	p.received += int64(len(body))
	p.bytes += int64(len(frame))
	r.held += int64(len(frame))
	p.last = now
	if h.Chunk == 0 {
		hc := h
		p.head = &hc
	}
	// Append to the buffer what now follows it in order.
	for c := p.chunks[p.next]; c != nil; c = p.chunks[p.next] {
		if c.off != int64(len(p.buf)) {
			r.remove(k)
			return nil, reject(id, dev, ReasonSizeMismatch, "chunk %d starts at offset %d, want %d", p.next, c.off, len(p.buf))
		}
		data := c.data
		if data == nil {
			data = body // the chunk of this frame
		}
		p.append(data, h.Total)
		c.data = nil
		p.next++
	}
	if p.next < h.Chunks {
		return nil, nil
	}
	// Complete: every chunk is in the buffer, in order.
	r.remove(k)
	if int64(len(p.buf)) != h.Total {
		return nil, reject(id, dev, ReasonSizeMismatch, "chunks add up to %d bytes, header says %d", len(p.buf), h.Total)
	}
	if hex.EncodeToString(p.sum.Sum(nil)) != h.SHA256 {
		return nil, reject(id, dev, ReasonDigestMismatch, "reassembled body does not match its SHA-256")
	}
	it := itemFrom(p.head, p.buf)
	return &it, nil
}

// append adds a chunk's body to the buffer and the digest. The buffer
// grows to at most twice the bytes it holds, never past total.
func (p *partial) append(b []byte, total int64) {
	if need := len(p.buf) + len(b); need > cap(p.buf) {
		c := min(total, max(int64(2*need), int64(2*cap(p.buf))))
		nb := make([]byte, len(p.buf), max(c, int64(need)))
		copy(nb, p.buf)
		p.buf = nb
	}
	p.buf = append(p.buf, b...)
	p.sum.Write(b)
}

// body is the body of a chunk p holds: in the buffer, or waiting.
func (p *partial) body(c *piece) []byte {
	if c.data != nil {
		return c.data
	}
	return p.buf[c.off : c.off+c.n]
}

func (r *Reassembler) drop(k key) {
	r.mu.Lock()
	r.remove(k)
	r.mu.Unlock()
}

// remove forgets the partial item k. r.mu is held.
func (r *Reassembler) remove(k key) {
	if p := r.pending[k]; p != nil {
		r.held -= p.bytes
		delete(r.pending, k)
	}
}

// Expire drops the incomplete items whose last chunk came more than
// Timeout before now and returns their ids. A receiver sends no ack for
// them: the device retransmits.
func (r *Reassembler) Expire(now time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for k, p := range r.pending {
		if now.Sub(p.last) > r.l.Timeout {
			r.remove(k)
			ids = append(ids, k.id)
		}
	}
	sort.Strings(ids)
	return ids
}

// InProgress is the number of incomplete items held.
func (r *Reassembler) InProgress() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Held is the number of frame bytes held in incomplete items.
func (r *Reassembler) Held() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// Partial is an incomplete item taken out of a Reassembler by Take: the
// chunks it had received, each as the frame it came in, so that another
// Reassembler (on another receiver, or after a restart) can finish it.
type Partial struct {
	Device, ItemID string
	Chunks         int          // the item's number of chunks
	Frames         []ChunkFrame // in chunk order
	Last           time.Time    // when its last chunk arrived
}

// ChunkFrame is one received chunk of a Partial.
type ChunkFrame struct {
	Chunk int
	Frame []byte
}

// Take removes and returns the incomplete items whose last chunk came at
// or before idleSince, and then, oldest first, as many more as it takes to
// bring the bytes held to maxHeld or less (maxHeld <= 0: no byte bound).
// A receiver uses it to hand incomplete items to shared storage: with
// several receivers behind one shared subscription, each holds only some
// of an item's chunks.
func (r *Reassembler) Take(idleSince time.Time, maxHeld int64) []Partial {
	r.mu.Lock()
	defer r.mu.Unlock()
	type entry struct {
		k key
		p *partial
	}
	var all []entry
	for k, p := range r.pending {
		all = append(all, entry{k, p})
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].p.last.Equal(all[j].p.last) {
			return all[i].p.last.Before(all[j].p.last)
		}
		return all[i].k.id < all[j].k.id
	})
	var out []Partial
	for _, e := range all {
		if e.p.last.After(idleSince) && (maxHeld <= 0 || r.held <= maxHeld) {
			continue
		}
		out = append(out, e.p.partial(e.k))
		r.remove(e.k)
	}
	return out
}

// partial exports p's chunks as frames.
func (p *partial) partial(k key) Partial {
	idx := make([]int, 0, len(p.chunks))
	for i := range p.chunks {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := Partial{Device: k.device, ItemID: k.id, Chunks: p.first.Chunks, Last: p.last, Frames: make([]ChunkFrame, 0, len(idx))}
	for _, i := range idx {
		c := p.chunks[i]
		f := make([]byte, 0, len(c.head)+int(c.n))
		out.Frames = append(out.Frames, ChunkFrame{Chunk: i, Frame: append(append(f, c.head...), p.body(c)...)})
	}
	return out
}
