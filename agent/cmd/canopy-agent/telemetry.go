package main

// canopy-agent telemetry replay|show, and the telemetry and capture gates
// of canopy-agent run (openDrone).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/agent/telemetry"
	"github.com/canopy-forest/canopy/internal/cli"
)

// droneParts are a run's telemetry input and capture gates (both nil
// without capture.telemetry).
type droneParts struct {
	in   *telemetry.Input
	gate *telemetry.Gate
}

// openDrone opens cfg's telemetry: a log is read whole now, a live link
// starts listening or connecting.
func openDrone(cfg config.Config, log *slog.Logger) (droneParts, error) {
	if cfg.Capture.Telemetry == "" {
		return droneParts{}, nil
	}
	in, err := telemetry.Open(cfg.Capture.Telemetry, telemetry.Options{MaxGap: cfg.Capture.TelemetryMaxGap.D(), Log: log})
	if err != nil {
		return droneParts{}, err
	}
	d := droneParts{in: in}
	if g := cfg.GateOptions(); g.Enabled() {
		d.gate = telemetry.NewGate(g)
		log.Info("capture gates", "armed", g.Armed, "min_height_m", g.MinHeightM, "max_off_nadir_deg", g.MaxOffNadirDeg, "every_m", g.EveryM)
	}
	log.Info("telemetry", "telemetry", in.Spec().String(), "offset", cfg.Capture.TelemetryOffset.D(), "max_gap", in.MaxGap())
	return d, nil
}

// telemetry is what capture joins frames to (nil: none).
func (d droneParts) telemetry() capture.Telemetry {
	if d.in == nil {
		return nil
	}
	return d.in
}

func (d droneParts) runners() []func(context.Context) error {
	if d.in == nil {
		return nil
	}
	return []func(context.Context) error{d.in.Run}
}

func (d droneParts) close() {
	if d.in != nil {
		_ = d.in.Close()
	}
}

// telemetryCommand replays a flight's telemetry log, or shows the
// vehicle's state.
var telemetryCommand = cli.Command{
	Name:    "telemetry",
	Summary: "replay a flight's telemetry log, or show the vehicle's state",
	Usage: "usage: canopy-agent telemetry replay FILE.tlog --to udp://HOST:PORT [--speed X] [--skip D] [--loop]\n" +
		"       canopy-agent telemetry show [--telemetry SPEC | --config FILE] [--count N] [--json]",
	Sub: []cli.Command{
		{Name: "replay", Summary: "send a recorded telemetry log as a flight controller would", Run: untilSignal(telemetryReplay)},
		{Name: "show", Summary: "print the vehicle's state once a second", Run: untilSignal(telemetryShow)},
	},
}

// untilSignal runs f with a context that ends on SIGINT or SIGTERM.
func untilSignal(f func(ctx context.Context, args []string) error) func([]string) error {
	return func(args []string) error {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return f(ctx, args)
	}
}

func telemetryReplay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("telemetry replay", flag.ContinueOnError)
	to := fs.String("to", "udp://127.0.0.1:14550", "where to send: udp://HOST:PORT, tcp://HOST:PORT or serial:DEVICE[:BAUD]")
	speed := fs.Float64("speed", 1, "replay `factor` (2 = twice as fast)")
	skip := fs.Duration("skip", 0, "leave out the first `duration` of the log")
	loop := fs.Bool("loop", false, "start again at the end of the log, until stopped")
	cli.SetUsage(fs, "usage: canopy-agent telemetry replay FILE.tlog [--to udp://HOST:PORT] [--speed X] [--skip D] [--loop]\n\n"+
		"Sends a recorded telemetry log as a flight controller would, paced by its record times.")
	pos, help, err := cli.ParseInterspersed(fs, args)
	if help || err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("want one log file, got %q", pos)
	}
	path := pos[0]
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	if f, err := open(); err != nil {
		return fmt.Errorf("open telemetry log: %w", err)
	} else {
		f.Close()
	}
	w, err := telemetry.Dial(*to)
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Fprintf(os.Stderr, "replaying %s to %s at %gx\n", path, *to, *speed)
	st, err := telemetry.Replay(ctx, open, w, telemetry.ReplayOptions{Speed: *speed, Skip: *skip, Loop: *loop})
	fmt.Fprintf(os.Stderr, "sent %d records (log time %s to %s)", st.Records, st.First.UTC().Format(time.RFC3339Nano), st.Last.UTC().Format(time.RFC3339Nano))
	if st.Skipped > 0 {
		fmt.Fprintf(os.Stderr, "; skipped %d bytes that were not records", st.Skipped)
	}
	fmt.Fprintln(os.Stderr)
	return err
}

// showLine is one line of telemetry show --json.
type showLine struct {
	Time       time.Time `json:"time"`
	Armed      string    `json:"armed"`
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	AltM       float64   `json:"alt_m"`
	HeightM    float64   `json:"height_m"`
	SpeedMS    float64   `json:"speed_ms"`
	YawDeg     *float64  `json:"yaw_deg,omitempty"`
	PitchDeg   *float64  `json:"pitch_deg,omitempty"`
	RollDeg    *float64  `json:"roll_deg,omitempty"`
	OffNadir   *float64  `json:"off_nadir_deg,omitempty"`
	Fix        int       `json:"fix"`
	Satellites int       `json:"satellites"`
	AgeS       *float64  `json:"age_s,omitempty"` // a live link: how old the newest position is
	AheadS     *float64  `json:"vehicle_clock_ahead_s,omitempty"`
	Messages   int64     `json:"messages"`
	Note       string    `json:"note,omitempty"`
}

func newShowLine(s telemetry.State, in *telemetry.Input) showLine {
	l := showLine{Time: s.Time.UTC(), Armed: s.Armed.String(), Lat: s.Lat, Lon: s.Lon, AltM: round2(s.AltM), HeightM: round2(s.HeightM),
		SpeedMS: round2(s.SpeedMS), Fix: s.Fix, Satellites: s.Satellites, Note: s.Note()}
	l.Messages, _ = in.Messages()
	opt := func(v float64, ok bool) *float64 {
		if !ok {
			return nil
		}
		v = round2(v)
		return &v
	}
	l.YawDeg = opt(s.YawDeg, s.HasYaw)
	l.PitchDeg = opt(s.PitchDeg, s.HasAttitude)
	l.RollDeg = opt(s.RollDeg, s.HasAttitude)
	l.OffNadir = opt(s.OffNadirDeg())
	if d, ok := in.VehicleClock(); ok {
		l.AheadS = opt(d.Seconds(), true)
	}
	return l
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func telemetryShow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("telemetry show", flag.ContinueOnError)
	spec := fs.String("telemetry", "", "telemetry `spec` (udp://HOST:PORT, tcp://HOST:PORT, serial:DEVICE[:BAUD], tlog:FILE); default: the config's capture.telemetry")
	path := fs.String("config", "", "agent config `file` whose capture.telemetry to show")
	count := fs.Int("count", 0, "stop after `n` lines (0: until stopped, or the end of a log)")
	asJSON := fs.Bool("json", false, "one JSON object a line")
	cli.SetUsage(fs, "usage: canopy-agent telemetry show [--telemetry SPEC | --config FILE] [--count N] [--json]\n\n"+
		"Prints the vehicle's state once a second (a log: each second of it).")
	if help, err := cli.Parse(fs, args); help || err != nil {
		return err
	}
	if *spec == "" {
		cfg, _, err := config.Load(config.Sources{Path: *path})
		if err != nil {
			return err
		}
		*spec = cfg.Capture.Telemetry
		if *spec == "" {
			return errors.New("no telemetry: pass --telemetry SPEC, or --config with capture.telemetry")
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	in, err := telemetry.Open(*spec, telemetry.Options{Log: log})
	if err != nil {
		return err
	}
	defer in.Close()
	enc := json.NewEncoder(os.Stdout)
	print := func(l showLine) error {
		if *asJSON {
			return enc.Encode(l)
		}
		_, err := fmt.Println(textLine(l))
		return err
	}
	if !in.Spec().Live() {
		first, last, _ := in.Span()
		n := 0
		for t := first; !t.After(last) && (*count == 0 || n < *count); t = t.Add(time.Second) {
			s, err := in.At(t)
			if err != nil { // a gap in the log
				if *asJSON {
					err = enc.Encode(map[string]any{"time": t.UTC(), "error": err.Error()})
				} else {
					_, err = fmt.Printf("%s %v\n", t.UTC().Format("2006-01-02T15:04:05.000Z"), err)
				}
				if err != nil {
					return err
				}
				continue
			}
			if err := print(newShowLine(s, in)); err != nil {
				return err
			}
			n++
		}
		return nil
	}
	errc := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); <-errc }()
	go func() { errc <- in.Run(runCtx) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 0; *count == 0 || n < *count; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		s, err := in.Latest()
		if err != nil {
			n, _ := in.Messages()
			fmt.Printf("%s waiting for the vehicle's position on %s (%d messages)\n", time.Now().UTC().Format(time.RFC3339), in.Spec(), n)
			continue
		}
		l := newShowLine(s, in)
		age := round2(time.Since(s.Time).Seconds())
		l.AgeS = &age
		if err := print(l); err != nil {
			return err
		}
	}
	return nil
}

// textLine is a showLine for people.
func textLine(l showLine) string {
	s := fmt.Sprintf("%s %-8s lat %.7f lon %.7f height %6.1f m alt %6.1f m speed %5.1f m/s", l.Time.Format("2006-01-02T15:04:05.000Z"),
		l.Armed, l.Lat, l.Lon, l.HeightM, l.AltM, l.SpeedMS)
	if l.YawDeg != nil {
		s += fmt.Sprintf(" yaw %5.1f", *l.YawDeg)
	}
	if l.PitchDeg != nil {
		s += fmt.Sprintf(" pitch %5.1f roll %5.1f", *l.PitchDeg, *l.RollDeg)
	}
	if l.OffNadir != nil {
		s += fmt.Sprintf(" off-nadir %4.1f", *l.OffNadir)
	}
	if l.Fix >= 0 {
		s += fmt.Sprintf(" fix %d sats %d", l.Fix, l.Satellites)
	}
	if l.AgeS != nil {
		s += fmt.Sprintf(" age %.2f s", *l.AgeS)
	}
	if l.AheadS != nil {
		s += fmt.Sprintf(" vehicle clock %+.2f s", *l.AheadS)
	}
	if l.Note != "" {
		s += " (" + l.Note + ")"
	}
	return s
}
