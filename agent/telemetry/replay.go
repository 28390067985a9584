package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.bug.st/serial"
)

// ReplayOptions configures Replay.
type ReplayOptions struct {
	// Speed divides the time between records (2: twice as fast); it must
	// be positive.
	Speed float64
	// Skip leaves out the first Skip of the log (by record time).
	Skip time.Duration
	// Loop starts the log again at its end, until ctx is done.
	Loop bool
}

// ReplayStats is what Replay sent.
type ReplayStats struct {
	Records, Skipped int64 // records sent; bytes that were not records
	First, Last      time.Time
}

// Replay sends the records of a log to w as a flight controller's link
// would: each frame in one write, as recorded, at the pace of the record
// times divided by o.Speed. open returns the log from its start (once,
// and again for each loop). It returns at the end of the log (with an
// error wrapping ErrTruncated for a log cut in the middle of a record,
// after sending every record before the cut), or nil when ctx is done.
func Replay(ctx context.Context, open func() (io.ReadCloser, error), w io.Writer, o ReplayOptions) (ReplayStats, error) {
	if !(o.Speed > 0) {
		return ReplayStats{}, fmt.Errorf("replay: speed %v: want a positive factor", o.Speed)
	}
	var st ReplayStats
	for {
		err := replayOnce(ctx, open, w, o, &st)
		if err != nil || !o.Loop || ctx.Err() != nil {
			if ctx.Err() != nil {
				return st, nil
			}
			return st, err
		}
	}
}

func replayOnce(ctx context.Context, open func() (io.ReadCloser, error), w io.Writer, o ReplayOptions, st *ReplayStats) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	lr := NewLogReader(r)
	var start, base, from time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer func() { st.Skipped += lr.Skipped() }()
	for ctx.Err() == nil {
		rec, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if from.IsZero() {
			from = rec.Time.Add(o.Skip)
		}
		if rec.Time.Before(from) {
			continue
		}
		if base.IsZero() {
			start, base = time.Now(), rec.Time
			if st.First.IsZero() {
				st.First = rec.Time
			}
		}
		due := start.Add(time.Duration(float64(rec.Time.Sub(base)) / o.Speed))
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil
			}
		}
		if _, err := w.Write(rec.Raw); err != nil {
			return fmt.Errorf("replay: send: %w", err)
		}
		st.Records++
		st.Last = rec.Time
	}
	return nil
}

// Dial opens where Replay sends to: udp://HOST:PORT (datagrams to that
// address, as a flight controller's telemetry radio or router sends),
// tcp://HOST:PORT (a connection to that server) or serial:DEVICE[:BAUD].
func Dial(to string) (io.WriteCloser, error) {
	sp, err := ParseSpec(to)
	if err != nil {
		return nil, err
	}
	switch sp.Kind {
	case KindUDP:
		raddr, err := net.ResolveUDPAddr("udp", sp.Address)
		if err != nil {
			return nil, fmt.Errorf("replay to %s: %w", sp, err)
		}
		c, err := net.ListenUDP("udp", nil)
		if err != nil {
			return nil, fmt.Errorf("replay to %s: %w", sp, err)
		}
		return udpWriter{c, raddr}, nil
	case KindTCP:
		c, err := net.DialTimeout("tcp", sp.Address, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("replay to %s: %w", sp, err)
		}
		return c, nil
	case KindSerial:
		p, err := serial.Open(sp.Path, &serial.Mode{BaudRate: sp.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
		if err != nil {
			return nil, fmt.Errorf("replay to %s: %w", sp, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("replay to %q: want udp://HOST:PORT, tcp://HOST:PORT or serial:DEVICE[:BAUD]", to)
}

// udpWriter sends each write as one datagram from an unconnected socket,
// so that nobody listening (yet) is not an error: a flight controller
// does not stop sending either.
type udpWriter struct {
	c  *net.UDPConn
	to *net.UDPAddr
}

func (u udpWriter) Write(p []byte) (int, error) { return u.c.WriteToUDP(p, u.to) }

func (u udpWriter) Close() error { return u.c.Close() }
