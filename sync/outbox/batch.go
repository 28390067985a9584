package outbox

import (
	"context"
	"time"
)

// batcher is the group-commit loop of SyncBatch. The first request of a
// batch opens a window; requests that arrive within it (up to max) join the
// batch; then commit writes them all in one transaction with one fsync, and
// every caller is answered. Requests that arrive while a commit runs queue
// for the next batch.
type batcher struct {
	window time.Duration
	max    int
	commit func([]*putReq)
	reqs   chan *batchReq
	quit   chan struct{}
	done   chan struct{}
}

type batchReq struct {
	r    *putReq
	done chan struct{} // closed when r.err is final
}

func newBatcher(window time.Duration, max int, commit func([]*putReq)) *batcher {
	return &batcher{
		window: window,
		max:    max,
		commit: commit,
		reqs:   make(chan *batchReq, max),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// do hands r to the loop and waits until its transaction is durable (or
// failed). If ctx ends first, do returns ctx's error; the item may still be
// committed, and a later Put of it is a no-op.
func (b *batcher) do(ctx context.Context, r *putReq) error {
	q := &batchReq{r: r, done: make(chan struct{})}
	select {
	case b.reqs <- q:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-q.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		var first *batchReq
		select {
		case first = <-b.reqs:
		case <-b.quit:
			// Callers that gave up on their context may have left
			// requests behind: commit them rather than drop them.
			for {
				select {
				case q := <-b.reqs:
					b.flush([]*batchReq{q})
				default:
					return
				}
			}
		}
		batch := []*batchReq{first}
		t := time.NewTimer(b.window)
	collect:
		for len(batch) < b.max {
			select {
			case q := <-b.reqs:
				batch = append(batch, q)
			case <-t.C:
				break collect
			case <-b.quit:
				break collect
			}
		}
		t.Stop()
		b.flush(batch)
	}
}

func (b *batcher) flush(batch []*batchReq) {
	rs := make([]*putReq, len(batch))
	for i, q := range batch {
		rs[i] = q.r
	}
	b.commit(rs)
	for _, q := range batch {
		close(q.done)
	}
}

// stop ends the loop after the batch in progress; callers must no longer
// call do.
func (b *batcher) stop() {
	close(b.quit)
	<-b.done
}
