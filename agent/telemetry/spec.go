package telemetry

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Kinds of telemetry spec.
const (
	KindUDP    = "udp"    // udp://HOST:PORT: listen for datagrams (the flight controller or a router sends)
	KindTCP    = "tcp"    // tcp://HOST:PORT: connect (a router's or SITL's TCP server)
	KindSerial = "serial" // serial:DEVICE[:BAUD]: the flight controller's serial port
	KindLog    = "tlog"   // tlog:FILE: a recorded telemetry log
)

// DefaultBaud is the baud rate of a serial spec that names none
// (ArduPilot's SERIALn_BAUD default, 57600).
const DefaultBaud = 57600

// Spec is a parsed telemetry spec.
type Spec struct {
	Kind string
	// Address is HOST:PORT for udp and tcp.
	Address string
	// Path is the serial device or the log file.
	Path string
	// Baud is the serial baud rate.
	Baud int
}

// ParseSpec parses udp://HOST:PORT, tcp://HOST:PORT,
// serial:DEVICE[:BAUD] or tlog:FILE. It touches no file and no network.
func ParseSpec(s string) (Spec, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Spec{}, fmt.Errorf("telemetry %q: want udp://HOST:PORT, tcp://HOST:PORT, serial:DEVICE[:BAUD] or tlog:FILE", s)
	}
	switch strings.ToLower(kind) {
	case KindUDP, KindTCP:
		addr, ok := strings.CutPrefix(rest, "//")
		if !ok {
			return Spec{}, fmt.Errorf("telemetry %q: want %s://HOST:PORT", s, kind)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return Spec{}, fmt.Errorf("telemetry %q: %w", s, err)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return Spec{}, fmt.Errorf("telemetry %q: port %q is not 1..65535", s, port)
		}
		if strings.ToLower(kind) == KindTCP && host == "" {
			return Spec{}, fmt.Errorf("telemetry %q: a TCP spec names the host to connect to", s)
		}
		return Spec{Kind: strings.ToLower(kind), Address: addr}, nil
	case KindSerial:
		dev, baud := rest, DefaultBaud
		if i := strings.LastIndex(rest, ":"); i >= 0 {
			b, err := strconv.Atoi(rest[i+1:])
			if err != nil || b <= 0 {
				return Spec{}, fmt.Errorf("telemetry %q: baud %q is not a positive number", s, rest[i+1:])
			}
			dev, baud = rest[:i], b
		}
		if dev == "" {
			return Spec{}, fmt.Errorf("telemetry %q: no serial device", s)
		}
		return Spec{Kind: KindSerial, Path: dev, Baud: baud}, nil
	case KindLog:
		if rest == "" {
			return Spec{}, fmt.Errorf("telemetry %q: no log file", s)
		}
		return Spec{Kind: KindLog, Path: rest}, nil
	}
	return Spec{}, fmt.Errorf("telemetry %q: unknown kind %q, want udp, tcp, serial or tlog", s, kind)
}

// Live reports whether the spec is a link (not a recorded log).
func (s Spec) Live() bool { return s.Kind != KindLog }

// String writes the spec back.
func (s Spec) String() string {
	switch s.Kind {
	case KindUDP, KindTCP:
		return s.Kind + "://" + s.Address
	case KindSerial:
		return fmt.Sprintf("serial:%s:%d", s.Path, s.Baud)
	}
	return s.Kind + ":" + s.Path
}
