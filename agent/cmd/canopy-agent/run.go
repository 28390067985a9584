package main

// canopy-agent run: capture, segment, select, encode, then the sink (and,
// once sync is wired in, the publisher). The sync wiring plugs in at the
// two marked places in runAgent: the sink, and the extra runners.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/canopy-forest/canopy/agent"
	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/agent/desired"
	"github.com/canopy-forest/canopy/agent/encode"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/internal/sdnotify"
	"github.com/canopy-forest/canopy/internal/version"
)

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-agent run [--config FILE] [flags]\n\nFlags override the config file.")
	var (
		path      = fs.String("config", "", "YAML config `file` (see agent/canopy-agent.example.yaml)")
		board     = fs.String("board", "", "board profile `name` (\"\" = detect; see canopy-agent boards)")
		device    = fs.String("device", "", "device `id`")
		source    = fs.String("source", "", "capture `source`: V4L2 index, GStreamer pipeline, URL, video file or image folder")
		data      = fs.String("data", "", "state `dir`ectory")
		once      = fs.Bool("once", false, "stop when the source has ended and all work is done")
		broker    = fs.String("broker", "", "MQTT broker `URL` (tcp://, ssl://); \"\" = keep items on the device")
		segmenter = fs.String("segmenter", "", "classical | onnx")
		model     = fs.String("model", "", "ONNX model `file`")
		logLevel  = fs.String("log-level", "", "debug | info | warn | error")
		logFormat = fs.String("log-format", "", "text | json")
		fps       = fs.Float64("fps", 0, "at most this many frames a second from a live source")
		scanID    = fs.String("scan-id", "", "scan id recorded in every item")
		cloudKey  = fs.String("cloud-key", "", "the cloud's public `key` (ed25519:..., printed by canopy-cloud device add): items leave the outbox only on acks it signed; required with a broker")
		insecure  = fs.Bool("insecure-acks", false, "with a broker and no cloud key, take acks unverified: anyone who can publish on the broker can make this agent delete items (demos only)")
		metricsAt = fs.String("metrics-listen", "", "serve Prometheus metrics on `addr` (127.0.0.1:9464); \"\" = off")
		selectAll = fs.String("select", "", "auto (all with --telemetry, else policy) | policy (the config's select section) | all (every frame becomes an item: a survey's photos); default: select.mode")
		telemetry = fs.String("telemetry", "", "flight controller telemetry `spec` that places each frame: udp://HOST:PORT, tcp://HOST:PORT, serial:DEVICE[:BAUD] or tlog:FILE")
	)
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg, prof, err := config.Load(config.Sources{
		Path:  *path,
		Board: *board,
		Flags: func(c *config.Config) {
			str := func(name string, dst *string, v string) {
				if set[name] {
					*dst = v
				}
			}
			str("device", &c.Device, *device)
			str("source", &c.Capture.Source, *source)
			str("data", &c.Data, *data)
			str("broker", &c.Sync.Broker, *broker)
			str("segmenter", &c.Segmenter.Kind, *segmenter)
			str("model", &c.Segmenter.Model, *model)
			str("log-level", &c.Log.Level, *logLevel)
			str("log-format", &c.Log.Format, *logFormat)
			str("scan-id", &c.Scan.ScanID, *scanID)
			str("cloud-key", &c.Sync.CloudKey, *cloudKey)
			str("metrics-listen", &c.Metrics.Listen, *metricsAt)
			str("telemetry", &c.Capture.Telemetry, *telemetry)
			str("select", &c.Select.Mode, *selectAll)
			if set["fps"] {
				c.Capture.FPS = *fps
			}
			if set["insecure-acks"] {
				c.Sync.InsecureAcks = *insecure
			}
			if set["model"] && !set["segmenter"] && c.Segmenter.Kind == config.SegmenterAuto {
				c.Segmenter.Kind = config.SegmenterONNX
			}
		},
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("canopy-agent starting", "version", version.Version, "device", cfg.Device, "board", prof.Name,
		"source", capture.DisplayName(cfg.Capture.Source), "data", cfg.Data, "once", *once)
	return runAgent(ctx, cfg, *once, log)
}

// runAgent runs the agent with cfg until ctx is cancelled or, with once,
// until the source has ended and the work is done. When the cloud's
// desired state is on (openDesired), the pipeline runs with the desired
// settings, and again whenever they change (a trial begins or is rolled
// back); settings that cannot run during a trial are rolled back at once.
func runAgent(ctx context.Context, cfg config.Config, once bool, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	tuneMemory(cfg, log)
	defer context.AfterFunc(ctx, func() { _ = sdnotify.FromEnv().Stopping() })()
	h := &trialHealth{}
	restart := make(chan struct{}, 1)
	dm, err := openDesired(cfg, h, func() { poke(restart) }, log)
	if err != nil {
		return err
	}
	if dm == nil {
		return runPipeline(ctx, cfg, once, log, nil, h)
	}
	mctx, stopManager := context.WithCancel(context.WithoutCancel(ctx))
	managerDone := make(chan error, 1)
	go func() { managerDone <- dm.Run(mctx) }()
	defer func() { stopManager(); <-managerDone }()
	for {
		select {
		case <-restart: // asked before this start: Current has it
		default:
		}
		s := dm.Current()
		run, err := effectiveConfig(cfg, s)
		if err != nil {
			if dm.TrialFailed(err) {
				continue
			}
			log.Error("the applied desired settings do not fit this config any more; running without them", "version", s.Version, "err", err)
		}
		if s.Version > 0 {
			log.Info("running desired settings", "version", s.Version, "model_sha256", s.ModelSHA256())
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- runPipeline(pctx, run, once, log, dm, h) }()
		select {
		case err := <-done:
			cancel()
			if err != nil && ctx.Err() == nil && dm.TrialFailed(err) {
				log.Warn("the trial's settings did not run; rolled back", "version", s.Version, "err", err)
				continue
			}
			return err
		case <-restart:
			cancel()
			if err := <-done; err != nil {
				log.Warn("pipeline stopped for new desired settings", "err", err)
			}
			log.Info("restarting with new desired settings")
		}
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// runPipeline wires the parts together for cfg and runs them until ctx is
// cancelled or, with once, until the source has ended and the work is
// done. dm (nil without desired state) rides on the publisher, and h gets
// the health of this run for its trials.
func runPipeline(ctx context.Context, cfg config.Config, once bool, log *slog.Logger, dm *desired.Manager, h *trialHealth) error {
	seg, err := agent.NewSegmenter(cfg.Segmenter, log)
	if err != nil {
		return err
	}
	defer seg.Close()
	info := seg.Info()
	log.Info("segmenter ready", "segmenter", info.Name, "model", info.Model, "model_sha256", info.ModelSHA256)
	if dm != nil {
		if dm.InTrial() {
			if err := probeSegmenter(ctx, seg); err != nil {
				return fmt.Errorf("the new model failed its check on a frame: %w", err)
			}
		}
		dm.SetRunning(info.ModelSHA256)
	}
	drone, err := openDrone(cfg, log)
	if err != nil {
		return err
	}
	defer drone.close()
	sensorWidth, focal, assumed := cfg.TelemetryLens()
	if assumed {
		log.Warn("no camera known (camera.model, or camera.sensor_width_mm and camera.focal_length_mm): the GSD of frames placed by telemetry assumes a "+config.AssumedCamera+" camera",
			"sensor_width_mm", sensorWidth, "focal_length_mm", focal)
	}

	enc, err := encode.New(encode.Options{
		Device:      cfg.Device,
		JPEGQuality: cfg.Encode.JPEGQuality,
		ScanID:      cfg.Scan.ScanID,
		AddressID:   cfg.Scan.AddressID,
		TreeType:    cfg.Scan.TreeType,
		Segmenter:   info,
		StateDir:    cfg.Data,
		Ground: photo.Options{AltitudeM: cfg.Capture.AltitudeM, GSDM: cfg.Capture.GSDM,
			SensorWidthMM: sensorWidth, FocalMM: focal},
		Camera: cfg.Camera.Model,
	})
	if err != nil {
		return err
	}
	defer enc.Close()

	// --- Sink: the outbox at <data>/outbox.db; with sync.broker, the
	// publisher drains it and --once waits for it to empty.
	sp, err := openSync(cfg, dm, log)
	if err != nil {
		return err
	}
	defer sp.close()
	var sinkFor agent.Sink = sp.sink
	runners := append(sp.runners, drone.runners()...)
	waitDone := sp.waitDone

	follow := cfg.Capture.Follow.D()
	if once {
		follow = 0 // --once: the source ends when the folder has been read
	}
	a, err := agent.New(agent.Options{
		Capture: capture.Options{
			Source:          cfg.Capture.Source,
			Width:           cfg.Capture.Width,
			Height:          cfg.Capture.Height,
			FPS:             cfg.Capture.FPS,
			Follow:          follow,
			Settle:          cfg.Capture.Settle.D(),
			Backoff:         capture.Backoff{Min: cfg.Capture.RetryMin.D(), Max: cfg.Capture.RetryMax.D()},
			Telemetry:       drone.telemetry(),
			TelemetryOffset: cfg.Capture.TelemetryOffset.D(),
		},
		Gate:      drone.gate,
		Segmenter: seg,
		Policy:    cfg.SelectionPolicy(),
		Encoder:   enc,
		Sink:      sinkFor,
		Log:       log,
	})
	if err != nil {
		return err
	}

	runners = append(runners, metricsRunners(cfg, a, sp, log)...)
	h.set(func() error {
		switch {
		case sp.publisher == nil || !sp.publisher.Stats().Connected:
			return errors.New("not connected to the broker")
		case !a.Capturing():
			return errors.New("not capturing")
		}
		return a.Health()
	})

	// systemd (Type=notify, WatchdogSec=): ready now (again after each
	// restart with new desired settings), and watchdog pings while every
	// health check passes; runAgent says stopping on a signal.
	health := []func() error{a.Health}
	notify := sdnotify.FromEnv()
	if wd := sdnotify.WatchdogFromEnv(func() error {
		for _, h := range health {
			if err := h(); err != nil {
				return err
			}
		}
		return nil
	}, log); wd.Enabled() {
		runners = append(runners, wd.Run)
	}
	if err := notify.Ready(); err != nil {
		log.Warn("sd_notify READY failed", "err", err)
	}
	return runAll(ctx, a.Run, runners, once, waitDone, log)
}

// runAll runs the pipeline and the runners. The pipeline stops first (on
// cancellation, or when the source ends); then, with once, waitDone runs;
// without once, a pipeline that ended waits for ctx. Then the runners are
// cancelled and waited for, with a deadline.
func runAll(ctx context.Context, pipeline func(context.Context) error, runners []func(context.Context) error,
	once bool, waitDone func(context.Context) error, log *slog.Logger) error {
	rctx, cancelRunners := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRunners()
	errc := make(chan error, len(runners))
	for _, r := range runners {
		go func() { errc <- r(rctx) }()
	}
	var errs []error
	pctx, cancelPipeline := context.WithCancel(ctx)
	defer cancelPipeline()
	pdone := make(chan error, 1)
	go func() { pdone <- pipeline(pctx) }()
	running := len(runners)
	select {
	case err := <-pdone:
		errs = append(errs, err)
	case err := <-errc: // a runner failed: stop everything
		running--
		errs = append(errs, err)
		cancelPipeline()
		errs = append(errs, <-pdone)
	}
	if errors.Join(errs...) == nil && ctx.Err() == nil {
		if once {
			if waitDone != nil {
				errs = append(errs, waitDone(ctx))
			}
			log.Info("source done (--once)")
		} else if running > 0 {
			log.Info("source ended; still running until stopped")
			select {
			case <-ctx.Done():
			case err := <-errc:
				running--
				errs = append(errs, err)
			}
		}
	}
	cancelRunners()
	deadline := time.After(10 * time.Second)
	for ; running > 0; running-- {
		select {
		case err := <-errc:
			if err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, err)
			}
		case <-deadline:
			errs = append(errs, errors.New("runners did not stop within 10s"))
			running = 0
		}
	}
	return errors.Join(errs...)
}

// newLogger makes the slog logger for c.
func newLogger(c config.Log, w *os.File) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	o := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
