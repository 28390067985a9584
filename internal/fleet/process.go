package fleet

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// proc is a child process that can be killed and started again with the
// same command line; its output goes to a log file.
type proc struct {
	name string
	args []string
	env  []string
	log  string

	mu  sync.Mutex
	cmd *exec.Cmd
	out *os.File
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.name)
	}
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.out = cmd, out
	return nil
}

// kill sends sig (SIGKILL for a crash, SIGTERM for a clean stop) and waits.
func (p *proc) kill(sig syscall.Signal) {
	p.mu.Lock()
	cmd, out := p.cmd, p.out
	p.cmd, p.out = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	out.Close()
}

// pid is the process id while it runs, else 0.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until something listens on addr.
func waitPort(ctx context.Context, addr string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on %s after %v", addr, within)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// mosquitto is the harness's own broker.
type mosquitto struct {
	proc
	addr string
}

func startMosquitto(ctx context.Context, bin, dir string) (*mosquitto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n"+
		"max_queued_messages 100000\nmax_inflight_messages 64\nset_tcp_nodelay true\n", port, filepath.Join(dir, "data"))
	if os.Geteuid() == 0 {
		conf += "user root\n" // stay root, so that the data folder stays writable
	}
	confPath := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	m := &mosquitto{proc: proc{name: "mosquitto", args: []string{bin, "-c", confPath}, log: filepath.Join(dir, "mosquitto.log")},
		addr: fmt.Sprintf("127.0.0.1:%d", port)}
	if err := m.restart(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *mosquitto) url() string { return "tcp://" + m.addr }

// restart starts the broker (again) and waits for its port.
func (m *mosquitto) restart(ctx context.Context) error {
	if err := m.start(); err != nil {
		return err
	}
	return waitPort(ctx, m.addr, 15*time.Second)
}
