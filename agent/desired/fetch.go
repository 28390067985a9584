package desired

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/canopy-forest/canopy/internal/digest"
	"github.com/canopy-forest/canopy/sync/wire"
)

// fetch is the download of one model into Dir/staging: <sha>.part holds
// the chunks at their offsets, <sha>.have one byte per chunk (1: the
// chunk is in .part, fsynced). Only the Run goroutine uses it.
type fetch struct {
	ref       wire.ModelRef
	part      string
	havePath  string
	f         *os.File
	have      []byte
	nHave     int
	lo        int               // no chunk below lo is missing
	asked     map[int]time.Time // chunks asked for and not yet here
	gen       int               // the link (Manager.linkGen) they were last asked on
	unsynced  int               // chunks written since the last fsync
	received  int64             // chunk bytes received by this process, copies included
	resumed   int64             // bytes already staged when this process took the download up
	duplicate int64             // chunks received again
	nextAt    time.Time         // with a rate limit: when the next request may go
}

// openFetch opens (or resumes) the staging of ref under dir.
func openFetch(dir string, ref wire.ModelRef) (*fetch, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("staging: %w", err)
	}
	n := ref.Chunks()
	fe := &fetch{ref: ref, part: filepath.Join(dir, ref.SHA256+".part"), havePath: filepath.Join(dir, ref.SHA256+".have"),
		have: make([]byte, n), asked: map[int]time.Time{}}
	f, err := os.OpenFile(fe.part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("staging: %w", err)
	}
	fe.f = f
	if fi, err := f.Stat(); err == nil && fi.Size() == ref.Size {
		if b, err := os.ReadFile(fe.havePath); err == nil && len(b) == n {
			copy(fe.have, b)
		}
	}
	for i, h := range fe.have {
		if h == 1 {
			fe.nHave++
			fe.resumed += int64(ref.ChunkLen(i))
		} else {
			fe.have[i] = 0
		}
	}
	if fe.nHave == 0 {
		if err := f.Truncate(ref.Size); err != nil { // sparse: takes disk as chunks arrive
			f.Close()
			return nil, fmt.Errorf("staging: %w", err)
		}
	}
	fe.advance()
	return fe, nil
}

// staged is the bytes of the model on disk so far.
func (fe *fetch) staged() int64 {
	if fe.nHave == len(fe.have) {
		return fe.ref.Size
	}
	return int64(fe.nHave) * int64(fe.ref.ChunkSize)
}

func (fe *fetch) done() bool { return fe.nHave == len(fe.have) }

func (fe *fetch) advance() {
	for fe.lo < len(fe.have) && fe.have[fe.lo] == 1 {
		fe.lo++
	}
}

// want returns up to n chunks that are missing and not asked for.
func (fe *fetch) want(n int) []int {
	var out []int
	for i := fe.lo; i < len(fe.have) && len(out) < n; i++ {
		if _, ok := fe.asked[i]; fe.have[i] == 0 && !ok {
			out = append(out, i)
		}
	}
	return out
}

// expire forgets the chunks asked for before t: they are asked again.
func (fe *fetch) expire(t time.Time) int {
	n := 0
	for i, at := range fe.asked {
		if at.Before(t) {
			delete(fe.asked, i)
			n++
		}
	}
	return n
}

// errBadChunk: a chunk that does not fit the model it names.
var errBadChunk = errors.New("chunk does not fit the model")

// put writes chunk c; it reports whether the chunk was new.
func (fe *fetch) put(c wire.ArtifactChunk, syncEvery int) (bool, error) {
	if c.Size != fe.ref.Size || c.Chunk >= len(fe.have) || c.Offset != int64(c.Chunk)*int64(fe.ref.ChunkSize) || len(c.Data) != fe.ref.ChunkLen(c.Chunk) {
		return false, fmt.Errorf("%w: chunk %d, %d bytes at %d of %d", errBadChunk, c.Chunk, len(c.Data), c.Offset, c.Size)
	}
	fe.received += int64(len(c.Data))
	delete(fe.asked, c.Chunk)
	if fe.have[c.Chunk] == 1 {
		fe.duplicate++
		return false, nil
	}
	if _, err := fe.f.WriteAt(c.Data, c.Offset); err != nil {
		return false, fmt.Errorf("write staging: %w", err)
	}
	fe.have[c.Chunk] = 1
	fe.nHave++
	fe.unsynced++
	fe.advance()
	if fe.unsynced >= syncEvery || fe.done() {
		return true, fe.sync()
	}
	return true, nil
}

// sync makes what was written durable, then records it in .have: after a
// crash, .have never names a chunk that is not on disk.
func (fe *fetch) sync() error {
	if err := fe.f.Sync(); err != nil {
		return fmt.Errorf("sync staging: %w", err)
	}
	if err := writeFileAtomic(fe.havePath, fe.have); err != nil {
		return fmt.Errorf("record staged chunks: %w", err)
	}
	fe.unsynced = 0
	return nil
}

// finish checks the complete file against its SHA-256 and renames it to
// dst. A mismatch removes the staging: the bytes are not what was signed.
func (fe *fetch) finish(dst string) error {
	if err := fe.f.Close(); err != nil {
		return fmt.Errorf("close staging: %w", err)
	}
	fe.f = nil
	sum, err := digest.File(fe.part)
	if err != nil {
		return err
	}
	if sum != fe.ref.SHA256 {
		fe.remove()
		return fmt.Errorf("%w: the model's bytes have sha256 %.12s..., the signed document says %.12s...", ErrDigestMismatch, sum, fe.ref.SHA256)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Rename(fe.part, dst); err != nil {
		return fmt.Errorf("swap in model: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	_ = os.Remove(fe.havePath)
	return nil
}

// close stops using the staging and keeps it for a later resume.
func (fe *fetch) close() {
	if fe.f != nil {
		if fe.unsynced > 0 {
			_ = fe.sync()
		}
		fe.f.Close()
		fe.f = nil
	}
}

// remove deletes the staging files.
func (fe *fetch) remove() {
	if fe.f != nil {
		fe.f.Close()
		fe.f = nil
	}
	_ = os.Remove(fe.part)
	_ = os.Remove(fe.havePath)
}
