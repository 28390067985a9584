package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Messages understood by systemd (sd_notify(3)).
const (
	MsgReady    = "READY=1"
	MsgStopping = "STOPPING=1"
	MsgReload   = "RELOADING=1"
	MsgWatchdog = "WATCHDOG=1"
)

// Notifier sends state changes to systemd. The zero Notifier (and a nil
// one) is disabled: its methods do nothing.
type Notifier struct {
	addr string
	send func(msg string) error // replaced in tests
}

// New returns a Notifier for the socket at addr ("" disables it; a leading
// "@" names an abstract socket, as systemd writes it).
func New(addr string) *Notifier {
	n := &Notifier{addr: addr}
	n.send = n.write
	return n
}

// FromEnv returns a Notifier for $NOTIFY_SOCKET (disabled when unset).
func FromEnv() *Notifier { return New(os.Getenv("NOTIFY_SOCKET")) }

// Enabled reports whether messages go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != "" }

// Notify sends the given assignments ("READY=1", "STATUS=...") as one
// message.
func (n *Notifier) Notify(states ...string) error {
	if !n.Enabled() {
		return nil
	}
	msg := strings.Join(states, "\n")
	if err := n.send(msg); err != nil {
		return fmt.Errorf("sd_notify %q: %w", msg, err)
	}
	return nil
}

// Ready tells systemd that start-up is finished.
func (n *Notifier) Ready() error { return n.Notify(MsgReady) }

// Stopping tells systemd that the service is shutting down.
func (n *Notifier) Stopping() error { return n.Notify(MsgStopping) }

// Watchdog pings the service watchdog.
func (n *Notifier) Watchdog() error { return n.Notify(MsgWatchdog) }

// Status sets the free-form status line that systemctl status shows.
func (n *Notifier) Status(s string) error {
	return n.Notify("STATUS=" + strings.ReplaceAll(s, "\n", " "))
}

func (n *Notifier) write(msg string) error {
	addr := n.addr
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(msg))
	return err
}

// WatchdogInterval returns the watchdog timeout systemd asks for
// ($WATCHDOG_USEC), and false when there is none or it is meant for another
// process ($WATCHDOG_PID is set and is not this one).
func WatchdogInterval() (time.Duration, bool) {
	return watchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
}

func watchdogInterval(usec, pid string, self int) (time.Duration, bool) {
	if usec == "" {
		return 0, false
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p != self {
			return 0, false
		}
	}
	u, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || u <= 0 {
		return 0, false
	}
	return time.Duration(u) * time.Microsecond, true
}
