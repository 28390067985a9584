package telemetry

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair in raw mode: the master, which
// plays the flight controller, and the slave's path, which the link opens
// as its serial port.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/dev/pts/%d", n)
	s, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag = tio.Cflag&^(unix.CSIZE|unix.PARENB) | unix.CS8
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return m, path
}

// fly writes a vehicle's positions to w at 20 Hz until stop is closed or a
// write fails.
func fly(t *testing.T, w *os.File, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			msg := &ardupilotmega.MessageGlobalPositionInt{TimeBootMs: uint32(1000 + 50*i), Lat: 470000000 + int32(i), Lon: 85000000,
				RelativeAlt: 40000, Hdg: math.MaxUint16}
			if _, err := w.Write(encodeLog(t, []entry{{time.Now(), 1, msg}})[8:]); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	return done
}

// TestSerialVanishes opens a serial link on a pseudo-terminal that then
// vanishes (its master closed, its device gone) and comes back as a new
// device under the same name: the link logs the loss, reconnects on its
// own and takes the new device's messages.
func TestSerialVanishes(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "ttyFC")
	m, path := openPTY(t)
	if err := os.Symlink(path, dev); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	in, err := Open("serial:"+dev+":921600", Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, in)
	defer stop()

	quit := make(chan struct{})
	done := fly(t, m, quit)
	waitFor(t, "messages from the first device", 5*time.Second, func() bool { return msgs(in) >= 10 })

	// The port vanishes.
	close(quit)
	<-done
	m.Close()
	os.Remove(dev)
	waitFor(t, "link-closed line", 5*time.Second, func() bool { return strings.Contains(logs.String(), "telemetry link closed") })
	before := msgs(in)
	time.Sleep(300 * time.Millisecond)
	if n := msgs(in); n != before {
		t.Fatalf("%d messages while the port was gone", n-before)
	}

	// It comes back under the same name.
	m2, path2 := openPTY(t)
	defer m2.Close()
	if err := os.Symlink(path2, dev); err != nil {
		t.Fatal(err)
	}
	quit2 := make(chan struct{})
	done2 := fly(t, m2, quit2)
	defer func() { close(quit2); <-done2 }()
	waitFor(t, "messages from the device that came back", 10*time.Second, func() bool { return msgs(in) >= before+10 })
	if n := strings.Count(logs.String(), "telemetry link open"); n < 2 {
		t.Errorf("%d link-open lines, want 2:\n%s", n, logs.String())
	}
	if _, err := in.Latest(); err != nil {
		t.Errorf("no state after the reconnect: %v", err)
	}
}
