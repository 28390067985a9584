package fleet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Device hosts. One process may open RLIMIT_NOFILE files (20,000 on the
// machines of issue 25), and a device takes two: its outbox and its broker
// connection. Ten thousand devices in one harness process ran out: the last
// devices' connections failed with "too many open files", their publishers
// retried quietly, and their items were never sent. So when the devices do
// not fit in one process, the harness starts device hosts (Config.HostCommand
// with EnvDeviceHost set: scripts/fleet runs Host then), each running a
// share of the devices in its own process, and talks to them with JSON lines
// on their standard input and output.

// EnvDeviceHost, set in a process's environment, makes it a device host: its
// main calls Host.
const EnvDeviceHost = "CANOPY_FLEET_DEVICE_HOST"

// IsHost reports whether this process was started as a device host.
func IsHost() bool { return os.Getenv(EnvDeviceHost) == "1" }

// hostMsg is one line between the harness and a device host: the harness
// sends Spec, then Start, then Stop; the host sends Status lines, then
// PutsDone, then Results.
type hostMsg struct {
	Spec     *devSpec       `json:",omitempty"`
	Start    int64          `json:",omitempty"` // Unix nanoseconds: when the puts begin
	Stop     bool           `json:",omitempty"`
	Status   *groupStatus   `json:",omitempty"`
	PutsDone bool           `json:",omitempty"`
	Err      string         `json:",omitempty"`
	Results  []deviceResult `json:",omitempty"`
}

// Host runs a device host: it reads the harness's messages from in and
// writes its own to out (see hostMsg) until told to stop.
func Host(ctx context.Context, in io.Reader, out io.Writer) error {
	dec, enc := json.NewDecoder(in), json.NewEncoder(out)
	var mu sync.Mutex
	send := func(m hostMsg) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(m)
	}
	var m hostMsg
	if err := dec.Decode(&m); err != nil || m.Spec == nil {
		return fmt.Errorf("device host: no spec: %v", err)
	}
	g, err := startLocal(ctx, *m.Spec)
	if err != nil {
		send(hostMsg{Err: err.Error()})
		return err
	}
	defer g.close()
	stopStatus := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			st := g.poll()
			send(hostMsg{Status: &st})
			select {
			case <-t.C:
			case <-stopStatus:
				return
			}
		}
	})
	for {
		var m hostMsg
		if err := dec.Decode(&m); err != nil {
			close(stopStatus)
			wg.Wait()
			return fmt.Errorf("device host: read: %w", err)
		}
		switch {
		case m.Start != 0:
			g.startPuts(time.Unix(0, m.Start))
			go func() {
				var msg string
				if err := <-g.putsDone(); err != nil {
					msg = err.Error()
				}
				send(hostMsg{PutsDone: true, Err: msg})
			}()
		case m.Stop:
			close(stopStatus)
			wg.Wait()
			send(hostMsg{Results: g.stop()})
			return nil
		}
	}
}

// hostGroup runs its devices in device host processes.
type hostGroup struct {
	hosts []*hostProc
	done  chan error
}

type hostProc struct {
	cmd *exec.Cmd
	in  *json.Encoder
	w   io.Closer

	mu      sync.Mutex
	status  groupStatus
	puts    chan string // the host's PutsDone error text ("": none)
	results chan []deviceResult
	exited  chan struct{}
	err     error // why it ended early, when it did
}

func startHosts(ctx context.Context, command []string, s devSpec, per int, logf func(string, ...any)) (*hostGroup, error) {
	if len(command) == 0 {
		return nil, fmt.Errorf("fleet: %d devices need about %d file descriptors, more than one process may open (%d devices at most): "+
			"set Config.HostCommand so that device hosts share them (scripts/fleet does), or raise ulimit -n", s.Count, 2*s.Count+1024, per)
	}
	g := &hostGroup{done: make(chan error, 1)}
	hosts := (s.Count + per - 1) / per
	per = (s.Count + hosts - 1) / hosts // as even as can be
	for first := 0; first < s.Count; first += per {
		hs := s
		hs.First, hs.Count = s.First+first, min(per, s.Count-first)
		h, err := startHost(ctx, command, hs)
		if err != nil {
			g.close()
			return nil, err
		}
		g.hosts = append(g.hosts, h)
	}
	if logf != nil {
		logf("%d devices in %d device hosts (%d at most each: the file-descriptor limit)", s.Count, len(g.hosts), per)
	}
	return g, nil
}

func startHost(ctx context.Context, command []string, s devSpec) (*hostProc, error) {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = append(os.Environ(), EnvDeviceHost+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start device host: %w", err)
	}
	h := &hostProc{cmd: cmd, in: json.NewEncoder(w), w: w, puts: make(chan string, 1), results: make(chan []deviceResult, 1), exited: make(chan struct{})}
	go h.read(r)
	if err := h.in.Encode(hostMsg{Spec: &s}); err != nil {
		h.kill()
		return nil, fmt.Errorf("device host: %w", err)
	}
	return h, nil
}

func (h *hostProc) read(r io.Reader) {
	defer close(h.exited)
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	for {
		var m hostMsg
		if err := dec.Decode(&m); err != nil {
			h.mu.Lock()
			if h.err == nil && !errors.Is(err, io.EOF) {
				h.err = err
			}
			h.mu.Unlock()
			return
		}
		switch {
		case m.Status != nil:
			h.mu.Lock()
			h.status = *m.Status
			h.mu.Unlock()
		case m.PutsDone:
			h.puts <- m.Err
		case m.Results != nil:
			h.results <- m.Results
		case m.Err != "":
			h.mu.Lock()
			h.err = errors.New(m.Err)
			h.mu.Unlock()
		}
	}
}

func (h *hostProc) kill() {
	_ = h.w.Close()
	if h.cmd.Process != nil {
		_ = h.cmd.Process.Kill()
	}
	_ = h.cmd.Wait()
}

func (g *hostGroup) poll() groupStatus {
	var st groupStatus
	for _, h := range g.hosts {
		h.mu.Lock()
		st.Connected += h.status.Connected
		st.Drained += h.status.Drained
		st.Cuts += h.status.Cuts
		h.mu.Unlock()
	}
	return st
}

func (g *hostGroup) startPuts(at time.Time) {
	for _, h := range g.hosts {
		_ = h.in.Encode(hostMsg{Start: at.UnixNano()})
	}
	go func() {
		var first error
		for _, h := range g.hosts {
			msg, ok := receive(h, h.puts)
			switch {
			case !ok && first == nil:
				first = fmt.Errorf("device host exited before its puts were done: %v", h.err)
			case msg != "" && first == nil:
				first = errors.New(msg)
			}
		}
		if first != nil {
			g.done <- first
		}
		close(g.done)
	}()
}

func (g *hostGroup) putsDone() <-chan error { return g.done }

func (g *hostGroup) pids() []int {
	var out []int
	for _, h := range g.hosts {
		out = append(out, h.cmd.Process.Pid)
	}
	return out
}

func (g *hostGroup) stop() []deviceResult {
	var out []deviceResult
	for _, h := range g.hosts {
		_ = h.in.Encode(hostMsg{Stop: true})
	}
	for _, h := range g.hosts {
		if rs, ok := receive(h, h.results); ok {
			out = append(out, rs...)
		}
	}
	return out
}

// receive waits for h's message on ch, or for h to end without sending
// one (false). A host sends its last message before it ends, so a message
// is taken even when both are ready.
func receive[T any](h *hostProc, ch <-chan T) (T, bool) {
	select {
	case v := <-ch:
		return v, true
	case <-h.exited:
		select {
		case v := <-ch:
			return v, true
		default:
			var zero T
			return zero, false
		}
	}
}

func (g *hostGroup) close() {
	for _, h := range g.hosts {
		h.kill()
	}
}
