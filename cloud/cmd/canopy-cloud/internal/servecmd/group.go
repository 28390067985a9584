package servecmd

import (
	"errors"
	"fmt"
	"sync"
)

// group runs the long-running parts of serve: the first to fail stops the
// others (through stop), and Wait returns every error.
type group struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (g *group) Go(name string, run func() error, stop func()) {
	g.wg.Go(func() {
		if err := run(); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, fmt.Errorf("%s: %w", name, err))
			g.mu.Unlock()
			stop()
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	return errors.Join(g.errs...)
}
