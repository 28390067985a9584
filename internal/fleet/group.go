package fleet

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canopy-forest/canopy/internal/ulid"
	"github.com/canopy-forest/canopy/sync/publish"
)

// group is a set of devices that run together: in this process
// (localGroup) or in device host processes (hostGroup), when the devices
// need more file descriptors than one process may open (an outbox file
// and a connection each).
type group interface {
	// poll counts the devices connected now, the outboxes drained (only
	// once every put is done) and the links cut.
	poll() groupStatus
	// startPuts makes every device put its items, spread over PutOver
	// from at; putsDone then says when they are all in (or the first
	// error).
	startPuts(at time.Time)
	putsDone() <-chan error
	// stop stops the publishers and returns what each device did.
	stop() []deviceResult
	// pids are the processes that run the devices.
	pids() []int
	// close releases everything (after stop, or instead of it).
	close()
}

type groupStatus struct {
	Connected, Drained, Cuts int
}

// deviceResult is what one device did: its puts, the acks that removed
// them from its outbox, its rejections and its publisher's counters.
type deviceResult struct {
	ID            string
	Puts          map[string]time.Time
	Acked         map[string]time.Time
	Rejected      map[string]string
	Stats         publish.Stats
	EverConnected bool
}

// devSpec is what a group needs to make its devices: devices First to
// First+Count-1 of the run.
type devSpec struct {
	First, Count int
	Broker, Root string
	Dir          string
	CloudKey     ed25519.PublicKey
	Password     string // the devices' broker password ("": none)

	Items, ItemBytes, CutDevices int
	PutOver, AckTimeout          time.Duration
	StatusInterval               time.Duration
}

func deviceID(root string, i int) string { return fmt.Sprintf("%s-d%04d", root, i) }

// localGroup runs its devices in this process.
type localGroup struct {
	spec  devSpec
	devs  []*device
	ever  []atomic.Bool
	maker *itemMaker

	ctx    context.Context // the devices' lifetime: puts stop with it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan error
	putsIn atomic.Bool
}

func startLocal(ctx context.Context, s devSpec) (*localGroup, error) {
	maker, err := newItemMaker(s.ItemBytes)
	if err != nil {
		return nil, err
	}
	g := &localGroup{spec: s, maker: maker, ever: make([]atomic.Bool, s.Count), done: make(chan error, 1)}
	devLog := slog.New(slog.DiscardHandler)
	// Opened 8 at a time: each outbox's first commit waits for the disk.
	g.devs = make([]*device, s.Count)
	errs := make([]error, s.Count)
	next := make(chan int)
	var opened sync.WaitGroup
	for range 8 {
		opened.Go(func() {
			for i := range next {
				n := s.First + i
				cut := int64(0)
				if n < s.CutDevices {
					cut = int64(s.ItemBytes)/2 + 137 // in the middle of the first item
				}
				g.devs[i], errs[i] = newDevice(deviceID(s.Root, n), s, cut, devLog)
			}
		})
	}
	for i := range s.Count {
		next <- i
	}
	close(next)
	opened.Wait()
	if err := errors.Join(errs...); err != nil {
		g.devs = slices.DeleteFunc(g.devs, func(d *device) bool { return d == nil })
		g.close()
		return nil, fmt.Errorf("devices: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	g.ctx, g.cancel = runCtx, cancel
	for _, d := range g.devs {
		g.wg.Go(func() { d.run(runCtx) })
	}
	return g, nil
}

func (g *localGroup) poll() groupStatus {
	var st groupStatus
	for i, d := range g.devs {
		if d.pub.Stats().Connected {
			g.ever[i].Store(true)
			st.Connected++
		}
		if g.putsIn.Load() && d.drained() {
			st.Drained++
		}
		if d.proxy != nil {
			st.Cuts += d.proxy.Cuts()
		}
	}
	return st
}

var ids = ulid.NewGenerator(nil)

func (g *localGroup) startPuts(at time.Time) {
	s := g.spec
	go func() {
		var wg sync.WaitGroup
		var putErr atomic.Pointer[error]
		for _, d := range g.devs {
			wg.Go(func() {
				rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
				for k := range s.Items {
					t := at.Add(time.Duration((float64(k) + rnd.Float64()) * float64(s.PutOver) / float64(s.Items)))
					select {
					case <-g.ctx.Done():
						return
					case <-time.After(time.Until(t)):
					}
					id, err := ids.New(time.Now())
					if err == nil {
						err = d.put(g.ctx, g.maker.item(id, d.id, s.Root, uint64(k+1), time.Now()))
					}
					if err != nil {
						putErr.CompareAndSwap(nil, &err)
						return
					}
				}
			})
		}
		wg.Wait()
		g.putsIn.Store(true)
		if p := putErr.Load(); p != nil {
			g.done <- *p
		}
		close(g.done)
	}()
}

func (g *localGroup) putsDone() <-chan error { return g.done }

func (g *localGroup) pids() []int { return []int{os.Getpid()} }

func (g *localGroup) stop() []deviceResult {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
	out := make([]deviceResult, len(g.devs))
	for i, d := range g.devs {
		d.mu.Lock()
		d.ob.mu.Lock()
		out[i] = deviceResult{ID: d.id, Puts: d.puts, Acked: d.ob.acked, Rejected: d.ob.rejected,
			Stats: d.pub.Stats(), EverConnected: g.ever[i].Load() || d.pub.Stats().Reconnects > 0}
		d.ob.mu.Unlock()
		d.mu.Unlock()
	}
	return out
}

func (g *localGroup) close() {
	if g.cancel != nil {
		g.cancel()
		g.wg.Wait()
	}
	for _, d := range g.devs {
		d.close()
	}
}

// devicesPerProcess is how many devices one process can run within its
// file-descriptor limit (an outbox file and a broker connection each, and
// room for the rest), as RLIMIT_NOFILE says; 0 when unknown.
func devicesPerProcess() int {
	lim, err := nofile()
	if err != nil || lim == 0 {
		return 0
	}
	return max(1, int(lim-min(lim/4, 1024))/2)
}

func startGroup(ctx context.Context, c Config, s devSpec) (group, error) {
	per := c.DevicesPerHost
	if per == 0 {
		per = devicesPerProcess()
	}
	if per == 0 || s.Count <= per {
		return startLocal(ctx, s)
	}
	return startHosts(ctx, c.HostCommand, s, per, c.Log)
}

// publishConfig is the publisher configuration of device id of s.
func publishConfig(s devSpec, id, broker string) publish.Config {
	c := publish.Config{
		Broker: broker, TopicRoot: s.Root, Device: id, ClientID: "fleet-" + id,
		AckTimeout: s.AckTimeout, MinBackoff: 500 * time.Millisecond, MaxBackoff: 5 * time.Second,
		StatusInterval: s.StatusInterval, Version: "fleet", CloudKey: s.CloudKey,
	}
	if s.Password != "" {
		c.Username, c.Password = id, s.Password
	}
	return c
}
