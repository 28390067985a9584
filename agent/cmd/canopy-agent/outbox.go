package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/canopy-forest/canopy/agent"
	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/agent/desired"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/version"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// outboxFile is the outbox's file name under the agent's data folder.
const outboxFile = "outbox.db"

// syncParts are what runAgent needs from sync: the sink that puts items in
// the outbox, the publisher's runner (none without a broker), what --once
// waits for after the pipeline (the outbox to empty; nil without a broker)
// and the closer of the outbox.
type syncParts struct {
	sink     agent.Sink
	runners  []func(context.Context) error
	waitDone func(context.Context) error
	close    func() error
	// For the metrics: the outbox, its bound, and the publisher (nil
	// without a broker).
	outbox    *outbox.Outbox
	maxBytes  int64
	publisher *publish.Publisher
}

// openSync opens the outbox at <data>/outbox.db and, when cfg.Sync.Broker
// is set, the publisher that drains it (with dm, when not nil, on its
// connection).
func openSync(cfg config.Config, dm *desired.Manager, log *slog.Logger) (syncParts, error) {
	maxBytes, err := cfg.OutboxMaxBytes()
	if err != nil {
		return syncParts{}, err
	}
	path := filepath.Join(cfg.Data, outboxFile)
	ob, err := outbox.Open(path, outbox.Options{
		MaxBytes:    maxBytes,
		Sync:        outbox.SyncMode(cfg.Outbox.Sync),
		BatchWindow: cfg.Outbox.BatchWindow.D(),
		ChunkSize:   cfg.Sync.ChunkSize, // records are stored as the frames the publisher sends
	}, log)
	if err != nil {
		return syncParts{}, err
	}
	st, err := ob.Stats()
	if err != nil {
		_ = ob.Close()
		return syncParts{}, fmt.Errorf("outbox stats: %w", err)
	}
	log.Info("outbox open", "path", path, "max_bytes", maxBytes, "sync", cfg.Outbox.Sync,
		"depth", st.Depth, "bytes", st.Bytes, "dead_letters", st.DeadLetters)
	parts := syncParts{sink: agent.OutboxSink{Outbox: ob}, close: ob.Close, outbox: ob, maxBytes: maxBytes}
	if cfg.Sync.Broker == "" {
		log.Warn("no sync.broker (--broker): items stay in the outbox on this device")
		return parts, nil
	}
	s := cfg.Sync
	var cloudKey ed25519.PublicKey
	if s.CloudKey == "" {
		// Validate let it through: sync.insecure_acks (--insecure-acks).
		log.Warn("INSECURE: sync.insecure_acks is on and there is no sync.cloud_key: acks are taken unverified, so anyone who can "+
			"publish on this device's ack topic can make it delete items it has not delivered; for demos only: give it the cloud's key "+
			"(canopy-cloud device add --out writes it)", "insecure_acks", true, "broker", s.Broker)
	}
	if s.CloudKey != "" {
		if cloudKey, err = wire.ParseCloudKey(s.CloudKey); err != nil {
			_ = ob.Close()
			return syncParts{}, fmt.Errorf("sync.cloud_key: %w", err)
		}
	}
	pc := publish.Config{
		Broker: s.Broker, TopicRoot: s.TopicRoot, Device: cfg.Device, ClientID: cfg.ClientID(),
		CAFile: s.CAFile, CertFile: s.CertFile, KeyFile: s.KeyFile,
		Username: s.Username, Password: s.Password,
		ChunkSize: s.ChunkSize, Window: s.Window, BandwidthBytes: s.Bandwidth,
		AckTimeout: s.AckTimeout.D(), KeepAlive: s.Keepalive.D(),
		CloudKey: cloudKey, Version: version.Version,
	}
	if dm != nil {
		pc.Downlink = dm
	}
	p, err := publish.New(pc, ob, log)
	if err != nil {
		_ = ob.Close()
		return syncParts{}, err
	}
	parts.runners = []func(context.Context) error{p.Run}
	parts.publisher = p
	parts.waitDone = func(ctx context.Context) error { return waitDrained(ctx, p, ob, log) }
	return parts, nil
}

// waitDrained waits until every item put has been acknowledged by the
// cloud, logging progress; only ctx limits the wait.
func waitDrained(ctx context.Context, p *publish.Publisher, ob *outbox.Outbox, log *slog.Logger) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastLog := time.Now()
	for {
		ok, err := p.Drained()
		if err != nil {
			return err
		}
		if ok {
			st := p.Stats()
			log.Info("outbox drained: every item acknowledged", "acked", st.Acked, "rejected", st.Rejected,
				"retransmitted", st.Retransmitted, "reconnects", st.Reconnects)
			return nil
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			obs, _ := ob.Stats()
			st := p.Stats()
			log.Info("waiting for the outbox to drain", "depth", obs.Depth, "bytes", obs.Bytes, "in_flight", st.InFlight,
				"acked", st.Acked, "connected", st.Connected)
		}
		select {
		case <-ctx.Done():
			return nil // interrupted: what is left stays in the outbox
		case <-tick.C:
		}
	}
}

// outboxCommand inspects the outbox of a stopped agent (bbolt allows one
// process at a time: a running agent holds the file locked).
var outboxCommand = cli.Command{
	Name:    "outbox",
	Summary: "inspect the outbox of a stopped agent (stats, dead-letters)",
	Usage: "usage: canopy-agent outbox stats --data DIR [--json]\n" +
		"       canopy-agent outbox dead-letters --data DIR [--json] [--replay ID]\n\n" +
		"A running agent holds its outbox locked: stop it first.",
	Sub: []cli.Command{
		{Name: "stats", Summary: "what waits in the outbox, its bytes, its oldest item, evictions and dead letters", Run: outboxStats},
		{Name: "dead-letters", Summary: "list the items the cloud refused, or move one back to be sent again (--replay)", Run: outboxDeadLetters},
	},
}

// outboxStats: canopy-agent outbox stats --data DIR [--json].
func outboxStats(args []string) error {
	fs := flag.NewFlagSet("outbox stats", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-agent outbox stats --data DIR [--json]\n\nPrints what waits in the outbox of a stopped agent. Flags:")
	ob, asJSON, err := openOutboxFlags(fs, args)
	if ob == nil {
		return err
	}
	defer ob.Close()
	st, err := ob.Stats()
	if err != nil {
		return fmt.Errorf("outbox stats: %w", err)
	}
	return printStats(os.Stdout, st, asJSON, time.Now())
}

// outboxDeadLetters: canopy-agent outbox dead-letters --data DIR [--json]
// [--replay ID].
func outboxDeadLetters(args []string) error {
	fs := flag.NewFlagSet("outbox dead-letters", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-agent outbox dead-letters --data DIR [--json] [--replay ID]\n\n"+
		"Lists the items of a stopped agent that the cloud refused, or moves one back into the outbox. Flags:")
	replay := fs.String("replay", "", "move the dead letter with this item id back into the outbox, to be sent again")
	ob, asJSON, err := openOutboxFlags(fs, args)
	if ob == nil {
		return err
	}
	defer ob.Close()
	if *replay != "" {
		if err := ob.Replay(*replay); err != nil {
			return fmt.Errorf("replay %s: %w", *replay, err)
		}
		fmt.Fprintf(os.Stderr, "item %s is back in the outbox; it is sent when the agent runs\n", *replay)
		return nil
	}
	dl, err := ob.DeadLetters()
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	return printDeadLetters(os.Stdout, dl, asJSON)
}

// openOutboxFlags adds --data and --json to fs, parses args and opens the
// outbox under --data. ob is nil when only the usage was asked for, or on
// an error.
func openOutboxFlags(fs *flag.FlagSet, args []string) (ob *outbox.Outbox, asJSON bool, err error) {
	data := fs.String("data", "", "the agent's data folder (holds "+outboxFile+")")
	fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return nil, false, err
	}
	if *data == "" {
		return nil, false, errors.New("--data DIR is required")
	}
	path := filepath.Join(*data, outboxFile)
	if _, err := os.Stat(path); err != nil {
		return nil, false, fmt.Errorf("no outbox at %s: %w", path, err)
	}
	ob, err = openOutboxReadonly(path)
	return ob, asJSON, err
}

// openOutboxReadonly opens the outbox, failing fast (not waiting for the
// lock) when a running agent holds it.
func openOutboxReadonly(path string) (*outbox.Outbox, error) {
	type result struct {
		ob  *outbox.Outbox
		err error
	}
	res := make(chan result, 1)
	go func() {
		ob, err := outbox.Open(path, outbox.Options{}, slog.New(slog.DiscardHandler))
		res <- result{ob, err}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			return nil, fmt.Errorf("open outbox: %w", r.err)
		}
		return r.ob, nil
	case <-time.After(5 * time.Second):
		return nil, fmt.Errorf("open outbox %s: still locked after 5s; stop the agent first", path)
	}
}

type statsJSON struct {
	Depth            int     `json:"depth"`
	Bytes            int64   `json:"bytes"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	Oldest           string  `json:"oldest,omitempty"`
	Evictions        int64   `json:"evictions"`
	Refused          int64   `json:"refused"` // items refused because the outbox was full, ever
	DeadLetters      int     `json:"dead_letters"`
	DeadBytes        int64   `json:"dead_bytes"`
}

func printStats(w io.Writer, st outbox.Stats, asJSON bool, now time.Time) error {
	j := statsJSON{Depth: st.Depth, Bytes: st.Bytes, Evictions: st.Evictions, Refused: st.Refused, DeadLetters: st.DeadLetters, DeadBytes: st.DeadBytes}
	if !st.Oldest.IsZero() {
		j.Oldest = st.Oldest.UTC().Format(time.RFC3339)
		j.OldestAgeSeconds = now.Sub(st.Oldest).Seconds()
	}
	if asJSON {
		return json.NewEncoder(w).Encode(j)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "items waiting\t%d\n", j.Depth)
	fmt.Fprintf(tw, "bytes waiting\t%d\n", j.Bytes)
	if j.Oldest != "" {
		fmt.Fprintf(tw, "oldest\t%s (%s ago)\n", j.Oldest, time.Duration(j.OldestAgeSeconds*float64(time.Second)).Round(time.Second))
	}
	fmt.Fprintf(tw, "evictions\t%d\n", j.Evictions)
	fmt.Fprintf(tw, "refused\t%d\n", j.Refused)
	fmt.Fprintf(tw, "dead letters\t%d (%d bytes)\n", j.DeadLetters, j.DeadBytes)
	return tw.Flush()
}

type deadLetterJSON struct {
	ItemID     string    `json:"item_id"`
	Device     string    `json:"device"`
	Seq        uint64    `json:"seq"`
	CapturedAt time.Time `json:"captured_at"`
	Source     string    `json:"source,omitempty"`
	Size       int       `json:"size"`
	Reason     string    `json:"reason"`
	RejectedAt time.Time `json:"rejected_at"`
}

func printDeadLetters(w io.Writer, dl []outbox.DeadLetter, asJSON bool) error {
	rows := make([]deadLetterJSON, len(dl))
	for i, d := range dl {
		m := d.Item.Meta
		rows[i] = deadLetterJSON{ItemID: d.ID, Device: m.Device, Seq: m.Seq, CapturedAt: m.CapturedAt,
			Source: m.Source, Size: d.Size, Reason: d.Reason, RejectedAt: d.RejectedAt}
	}
	if asJSON {
		return cli.PrintJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tSEQ\tCAPTURED\tSOURCE\tBYTES\tREJECTED\tREASON")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\n", r.ItemID, r.Seq, r.CapturedAt.UTC().Format(time.RFC3339),
			r.Source, r.Size, r.RejectedAt.UTC().Format(time.RFC3339), r.Reason)
	}
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(no dead letters)")
	}
	return tw.Flush()
}
