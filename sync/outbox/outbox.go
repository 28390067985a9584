package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
	bolt "go.etcd.io/bbolt"
)

// Cursor is a source's position, recorded in the same transaction as an
// item so that a source can resume after a crash exactly where the last
// committed item left it. The zero Cursor records nothing.
type Cursor struct {
	Source, Position string
}

// Record is an item waiting in the outbox.
type Record struct {
	ID string
	// Item is the item, decoded by Next and DeadLetters; NextSkip, the
	// publisher's read, leaves it zero: Frames carry it.
	Item wire.Item
	// Frames are the item's wire frames, at most Options.ChunkSize bytes
	// each, ready to publish. They share one buffer of their own (not the
	// file's memory).
	Frames       [][]byte
	Size         int       // bytes stored for the record
	PutAt        time.Time // when Put committed it
	ImageEvicted bool      // the image bytes were dropped to respect MaxBytes
	// Digest is the SHA-256 (lower-case hex) of the item's body, as its
	// frames carry it; a receipt of the cloud names it.
	Digest string
}

// DeadLetter is an item the cloud rejected, with the reason it gave.
type DeadLetter struct {
	Record
	Reason     string
	RejectedAt time.Time
}

// Stats are the outbox's counters. They are kept in the meta bucket and
// updated in the same transactions as the items, so reading them costs the
// same with 10 or 100,000 items.
type Stats struct {
	Depth       int       // items waiting
	Bytes       int64     // bytes of items waiting (bounded by MaxBytes)
	MaxBytes    int64     // the bound, Options.MaxBytes
	Oldest      time.Time // PutAt of the oldest waiting item; zero when empty
	Evictions   int64     // images dropped to respect MaxBytes, ever
	Refused     int64     // items Put refused with ErrFull, ever
	DeadLetters int       // items in the dead-letter bucket
	DeadBytes   int64     // bytes in the dead-letter bucket
	Damaged     int64     // records found damaged on disk and moved to the dead letters, ever
}

var (
	bucketItems   = []byte("items")
	bucketDead    = []byte("dead")
	bucketCursors = []byte("cursors")
	bucketMeta    = []byte("meta")

	keyFormat     = []byte("format")
	keyDepth      = []byte("depth")
	keyBytes      = []byte("bytes")
	keyFreeable   = []byte("freeable")
	keyEvictions  = []byte("evictions")
	keyRefused    = []byte("refused")
	keyDead       = []byte("dead")
	keyDeadBytes  = []byte("dead_bytes")
	keyEvictAfter = []byte("evict_after")
	keyDamaged    = []byte("damaged")
)

// formatVersion is the file format this release writes: 2 stores version 2
// records (wire frames); format 1 files (version 1 records only) are
// upgraded in place at Open, their records read as they are.
const formatVersion = 2

// Outbox is a durable queue of items in a bbolt file. All methods are safe
// for concurrent use.
type Outbox struct {
	path    string
	opt     Options
	log     *slog.Logger
	db      *bolt.DB
	changed chan struct{}
	now     func() time.Time

	mu     sync.RWMutex // Put and Replay hold it shared; Close exclusively
	closed bool
	batch  *batcher
}

// Open opens or creates the outbox at path. A file that bbolt cannot open
// or that fails its consistency check is renamed to path +
// ".corrupt-<timestamp>", the error is logged, and a fresh outbox is
// started; Open fails only when no outbox can be opened at all (another
// process holds the file, a directory cannot be written).
func Open(path string, o Options, log *slog.Logger) (*Outbox, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("open outbox %q: %w", path, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := openDB(path, log)
	if err != nil {
		return nil, fmt.Errorf("open outbox %q: %w", path, err)
	}
	ob := &Outbox{
		path:    path,
		opt:     o.withDefaults(),
		log:     log,
		db:      db,
		changed: make(chan struct{}, 1),
		now:     time.Now,
	}
	if ob.opt.Sync == SyncBatch {
		ob.batch = newBatcher(ob.opt.BatchWindow, ob.opt.MaxBatch, ob.commit)
		go ob.batch.run()
	}
	return ob, nil
}

type putReq struct {
	id    string
	rec   []byte // encoded record; its head (PutAt) is written in the transaction
	head  recHead
	cur   Cursor
	err   error
	added bool
}

// Put stores it, and cur when not zero, in one transaction, and returns
// once that transaction is on disk (fsynced). Putting an id that is already
// in the outbox (waiting or dead) stores nothing new but records cur. When
// it does not fit in MaxBytes, Put first drops the image bytes of the
// oldest waiting items (see the package doc); if that cannot make room it
// returns ErrFull, stores nothing and counts the refusal (Stats.Refused).
func (o *Outbox) Put(ctx context.Context, it wire.Item, cur Cursor) error {
	req, err := o.prepare(it, cur)
	if err != nil {
		return err
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return fmt.Errorf("put item %s: %w", req.id, ErrClosed)
	}
	if o.batch != nil {
		err = o.batch.do(ctx, req)
	} else {
		o.commit([]*putReq{req})
		err = req.err
	}
	if err != nil {
		return fmt.Errorf("put item %s: %w", req.id, err)
	}
	if req.added {
		o.signal()
	}
	return nil
}

func (o *Outbox) prepare(it wire.Item, cur Cursor) (*putReq, error) {
	b, err := encodeFrames(it, o.opt.ChunkSize)
	if err != nil {
		return nil, fmt.Errorf("put item %s: %w", it.Meta.ItemID, err)
	}
	var h recHead
	if small, dropped := withoutImage(it); dropped {
		sb, err := encodeFrames(small, o.opt.ChunkSize)
		if err != nil {
			return nil, fmt.Errorf("put item %s: %w", it.Meta.ItemID, err)
		}
		h.freeable = uint64(max(len(b)-len(sb), 0))
	}
	if cur.Source == "" && cur.Position != "" {
		return nil, fmt.Errorf("put item %s: cursor without a source", it.Meta.ItemID)
	}
	return &putReq{id: it.Meta.ItemID, rec: b, head: h, cur: cur}, nil
}

// commit writes reqs in one transaction; each request gets its own error.
func (o *Outbox) commit(reqs []*putReq) {
	err := o.db.Update(func(tx *bolt.Tx) error {
		now := o.now()
		for _, r := range reqs {
			r.err, r.added = nil, false
			r.head.putAt = now
			if err := o.putTx(tx, r); err != nil {
				if errors.Is(err, ErrFull) {
					r.err = err
					addCounter(tx.Bucket(bucketMeta), keyRefused, 1)
					continue
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range reqs {
			r.err, r.added = err, false
		}
	}
}

func (o *Outbox) putTx(tx *bolt.Tx, r *putReq) error {
	items, dead := tx.Bucket(bucketItems), tx.Bucket(bucketDead)
	id := []byte(r.id)
	if items.Get(id) == nil && dead.Get(id) == nil {
		rec := r.rec
		putHead(rec, r.head)
		if err := o.makeRoom(tx, int64(len(rec)), r.id); err != nil {
			return err
		}
		if err := items.Put(id, rec); err != nil {
			return err
		}
		m := tx.Bucket(bucketMeta)
		addCounter(m, keyDepth, 1)
		addCounter(m, keyBytes, int64(len(rec)))
		addCounter(m, keyFreeable, int64(r.head.freeable))
		r.added = true
	}
	if r.cur.Source != "" {
		return tx.Bucket(bucketCursors).Put([]byte(r.cur.Source), []byte(r.cur.Position))
	}
	return nil
}

// makeRoom evicts the image bytes of the oldest items until size more bytes
// fit in MaxBytes, or returns ErrFull without changing anything when that
// cannot be done.
func (o *Outbox) makeRoom(tx *bolt.Tx, size int64, forID string) error {
	m := tx.Bucket(bucketMeta)
	need := counter(m, keyBytes) + size - o.opt.MaxBytes
	if need <= 0 {
		return nil
	}
	if need > counter(m, keyFreeable) {
		return fmt.Errorf("%w: %d bytes waiting, %d more would exceed the bound of %d even without images", ErrFull, counter(m, keyBytes), size, o.opt.MaxBytes)
	}
	items := tx.Bucket(bucketItems)
	after := m.Get(keyEvictAfter)
	// Oldest first, starting after the last evicted item; then from the
	// start, for items put out of order.
	for pass := 0; pass < 2 && need > 0; pass++ {
		c := items.Cursor()
		var k, v []byte
		if pass == 0 && len(after) > 0 {
			k, v = c.Seek(after)
			if bytes.Equal(k, after) {
				k, v = c.Next()
			}
		} else {
			k, v = c.First()
		}
		for ; k != nil && need > 0; k, v = c.Next() {
			h, err := decodeHead(v)
			if err != nil || h.flags&flagEvicted != 0 || h.freeable == 0 {
				continue
			}
			freed, err := o.evict(tx, k, v, h)
			if err != nil {
				return err
			}
			need -= freed
			after = append([]byte(nil), k...)
			c.Seek(k) // reposition after the write
		}
	}
	if err := m.Put(keyEvictAfter, after); err != nil {
		return err
	}
	if need > 0 {
		return fmt.Errorf("%w: eviction freed too little for item %s", ErrFull, forID)
	}
	return nil
}

func (o *Outbox) evict(tx *bolt.Tx, k, v []byte, h recHead) (int64, error) {
	id := string(k)
	rec, err := decodeRecord(id, v, o.opt.ChunkSize)
	if err != nil {
		return 0, err
	}
	small, _ := withoutImage(rec.Item)
	nv, err := encodeFrames(small, o.opt.ChunkSize)
	if err != nil {
		return 0, fmt.Errorf("evict image of %s: %w", id, err)
	}
	old := len(v)
	freeable := h.freeable
	h.flags |= flagEvicted
	h.freeable = 0
	putHead(nv, h)
	if err := tx.Bucket(bucketItems).Put([]byte(id), nv); err != nil {
		return 0, err
	}
	m := tx.Bucket(bucketMeta)
	freed := int64(old - len(nv))
	addCounter(m, keyBytes, -freed)
	addCounter(m, keyFreeable, -int64(freeable))
	addCounter(m, keyEvictions, 1)
	o.log.Warn("outbox full: dropped the image of the oldest item, kept its record", "item", id, "freed_bytes", freed, "max_bytes", o.opt.MaxBytes)
	return freed, nil
}

func (o *Outbox) signal() {
	select {
	case o.changed <- struct{}{}:
	default:
	}
}

// Changed is signalled (without blocking, coalesced) after a Put or Replay
// adds an item. The publisher waits on it when it has drained the outbox.
func (o *Outbox) Changed() <-chan struct{} { return o.changed }

// Cursor returns the last position recorded for source, "" if none.
func (o *Outbox) Cursor(source string) (string, error) {
	var pos string
	err := o.db.View(func(tx *bolt.Tx) error {
		pos = string(tx.Bucket(bucketCursors).Get([]byte(source)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read outbox cursor %q: %w", source, err)
	}
	return pos, nil
}

// Next returns up to n records with ID > after, oldest (smallest id) first,
// each with its item decoded and checked against its SHA-256. It seeks
// with a cursor: the cost does not depend on how many items wait. Records
// stay in the outbox until Ack or Reject. A record damaged on disk is moved
// to the dead letters (see NextSkip).
func (o *Outbox) Next(after string, n int) ([]Record, error) {
	return o.read(after, n, nil, decodeRecord)
}

// NextSkip is the publisher's read: Next without decoding the items (their
// Frames are ready to publish; Record.Item is zero), passing over the
// records whose id skip reports true (a nil skip passes over none): they
// are not read and do not count towards n. Each record costs one copy out
// of the file and a CRC-32C check, no SHA-256: the receiver checks every
// item's SHA-256 and its signed receipt names it, so the end-to-end check
// covers the item. A record whose bytes on disk are not what was written
// (CRC mismatch) is logged at Error, moved to the dead letters with the
// reason and counted (Stats.Damaged); the read goes on past it.
func (o *Outbox) NextSkip(after string, n int, skip func(id string) bool) ([]Record, error) {
	return o.read(after, n, skip, readFrames)
}

func (o *Outbox) read(after string, n int, skip func(id string) bool, decode func(string, []byte, int) (Record, error)) ([]Record, error) {
	var recs []Record
	var damaged []*damageError
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		var k, v []byte
		if after == "" {
			k, v = c.First()
		} else {
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(recs) < n; k, v = c.Next() {
			if skip != nil && skip(string(k)) {
				continue
			}
			r, err := decode(string(k), v, o.opt.ChunkSize)
			if errors.Is(err, errDamaged) {
				damaged = append(damaged, &damageError{id: string(k), err: err})
				continue
			}
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	for _, d := range damaged {
		if err := o.quarantine(d); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// damageError is a record found damaged on disk.
type damageError struct {
	id  string
	err error
}

// quarantine moves a record found damaged on disk to the dead letters: it
// cannot be sent as it is (the receiver would reject it, or not even read
// its frames), and it is kept for a person to look at.
func (o *Outbox) quarantine(d *damageError) error {
	o.log.Error("outbox record damaged on disk: moved to the dead letters, not sent", "item", d.id, "err", d.err)
	err := o.db.Update(func(tx *bolt.Tx) error {
		if err := o.rejectTx(tx, d.id, "damaged on disk: "+d.err.Error()); err != nil {
			return err
		}
		addCounter(tx.Bucket(bucketMeta), keyDamaged, 1)
		return nil
	})
	if errors.Is(err, ErrNotFound) { // acknowledged meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("move damaged record %s to the dead letters: %w", d.id, err)
	}
	return nil
}

// Ack removes id: the cloud has stored it. ErrNotFound if it is not
// waiting (acks may be repeated).
func (o *Outbox) Ack(id string) error {
	err := o.db.Update(func(tx *bolt.Tx) error {
		_, err := removeItem(tx, id, false)
		return err
	})
	if err != nil {
		return fmt.Errorf("ack item %s: %w", id, err)
	}
	return nil
}

// AckMany removes every id in ids in one commit (one fsync): the cloud has
// stored them. Ids that are not waiting are passed over (acks may be
// repeated); it returns how many were removed. On an error none is.
func (o *Outbox) AckMany(ids ...string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	removed := 0
	err := o.db.Update(func(tx *bolt.Tx) error {
		removed = 0
		for _, id := range ids {
			_, err := removeItem(tx, id, false)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("item %s: %w", id, err)
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ack %d items: %w", len(ids), err)
	}
	return removed, nil
}

// removeItem deletes id from the waiting items and returns its record when
// keep is set (a copy: the file's memory is not the caller's); an ack,
// the common case, copies nothing.
func removeItem(tx *bolt.Tx, id string, keep bool) ([]byte, error) {
	items := tx.Bucket(bucketItems)
	v := items.Get([]byte(id))
	if v == nil {
		return nil, ErrNotFound
	}
	h, err := decodeHead(v)
	if err != nil {
		h = recHead{}
	}
	size := len(v)
	if keep {
		v = append([]byte(nil), v...)
	} else {
		v = nil
	}
	if err := items.Delete([]byte(id)); err != nil {
		return nil, err
	}
	m := tx.Bucket(bucketMeta)
	addCounter(m, keyDepth, -1)
	addCounter(m, keyBytes, -int64(size))
	if h.flags&flagEvicted == 0 {
		addCounter(m, keyFreeable, -int64(h.freeable))
	}
	return v, nil
}

// Reject moves id to the dead-letter bucket with reason: the cloud refused
// it for good. It leaves the byte bound; DeadLetters lists it and Replay
// puts it back.
func (o *Outbox) Reject(id, reason string) error {
	err := o.db.Update(func(tx *bolt.Tx) error { return o.rejectTx(tx, id, reason) })
	if err != nil {
		return fmt.Errorf("reject item %s: %w", id, err)
	}
	o.log.Warn("outbox: item rejected by the cloud, moved to dead letters", "item", id, "reason", reason)
	return nil
}

func (o *Outbox) rejectTx(tx *bolt.Tx, id, reason string) error {
	v, err := removeItem(tx, id, true)
	if err != nil {
		return err
	}
	dv := encodeDead(reason, o.now(), v)
	if err := tx.Bucket(bucketDead).Put([]byte(id), dv); err != nil {
		return err
	}
	m := tx.Bucket(bucketMeta)
	addCounter(m, keyDead, 1)
	addCounter(m, keyDeadBytes, int64(len(dv)))
	return nil
}

// DeadLetters lists the dead letters, oldest id first. A dead letter whose
// bytes are damaged is listed with what its record still says (no Item).
func (o *Outbox) DeadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(k, v []byte) error {
			reason, at, rv, err := splitDead(v)
			if err != nil {
				return fmt.Errorf("dead letter %s: %w", k, err)
			}
			r, err := decodeRecord(string(k), rv, o.opt.ChunkSize)
			if errors.Is(err, errDamaged) {
				h, _ := decodeHead(rv)
				r, err = Record{ID: string(k), Size: len(rv), PutAt: h.putAt, ImageEvicted: h.flags&flagEvicted != 0}, nil
			}
			if err != nil {
				return err
			}
			out = append(out, DeadLetter{Record: r, Reason: reason, RejectedAt: at})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// Replay moves dead letter id back to the waiting items, to be sent again.
// ErrFull if it does not fit (after evictions); ErrNotFound if there is no
// such dead letter.
func (o *Outbox) Replay(id string) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return fmt.Errorf("replay item %s: %w", id, ErrClosed)
	}
	err := o.db.Update(func(tx *bolt.Tx) error {
		dead := tx.Bucket(bucketDead)
		dv := dead.Get([]byte(id))
		if dv == nil {
			return ErrNotFound
		}
		dv = append([]byte(nil), dv...)
		_, _, rv, err := splitDead(dv)
		if err != nil {
			return err
		}
		if err := o.makeRoom(tx, int64(len(rv)), id); err != nil {
			return err
		}
		h, err := decodeHead(rv)
		if err != nil {
			return err
		}
		if err := dead.Delete([]byte(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketItems).Put([]byte(id), rv); err != nil {
			return err
		}
		m := tx.Bucket(bucketMeta)
		addCounter(m, keyDead, -1)
		addCounter(m, keyDeadBytes, -int64(len(dv)))
		addCounter(m, keyDepth, 1)
		addCounter(m, keyBytes, int64(len(rv)))
		if h.flags&flagEvicted == 0 {
			addCounter(m, keyFreeable, int64(h.freeable))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay item %s: %w", id, err)
	}
	o.signal()
	return nil
}

// Stats reads the counters and the oldest item's PutAt.
func (o *Outbox) Stats() (Stats, error) {
	s := Stats{MaxBytes: o.opt.MaxBytes}
	err := o.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		s.Depth = int(counter(m, keyDepth))
		s.Bytes = counter(m, keyBytes)
		s.Evictions = counter(m, keyEvictions)
		s.Refused = counter(m, keyRefused)
		s.DeadLetters = int(counter(m, keyDead))
		s.DeadBytes = counter(m, keyDeadBytes)
		s.Damaged = counter(m, keyDamaged)
		if k, v := tx.Bucket(bucketItems).Cursor().First(); k != nil {
			if h, err := decodeHead(v); err == nil {
				s.Oldest = h.putAt
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("read outbox stats: %w", err)
	}
	return s, nil
}

// Path is the outbox's file.
func (o *Outbox) Path() string { return o.path }

// Close waits for Puts in progress, stops the commit loop and closes the
// file. It is idempotent.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	if o.batch != nil {
		o.batch.stop()
	}
	if err := o.db.Close(); err != nil {
		return fmt.Errorf("close outbox %q: %w", o.path, err)
	}
	return nil
}

func counter(m *bolt.Bucket, k []byte) int64 {
	v := m.Get(k)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func addCounter(m *bolt.Bucket, k []byte, d int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(counter(m, k)+d))
	_ = m.Put(k, b[:]) // fails only for a read-only tx or a bad key, neither here
}
