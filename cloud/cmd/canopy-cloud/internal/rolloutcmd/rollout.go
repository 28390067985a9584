package rolloutcmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/cloud/rollout"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/sync/wire"
)

const rolloutUsage = `usage:
  canopy-cloud rollout create --devices ID[,ID...] [--model FILE] [--config JSON|@FILE] [--waves N] [--canary SHARE]
                              [--halt-threshold SHARE] [--wave-timeout D] [--id ID] [--data DIR | --database-url URL]
  canopy-cloud rollout status ID [--json] [--data DIR | --database-url URL]
  canopy-cloud rollout list [--data DIR | --database-url URL]
  canopy-cloud rollout pause|resume|abort ID [--data DIR | --database-url URL]

A running canopy-cloud serve on the same database sends the waves: the
first (a canary share of the devices), then the next once every device of
the previous one has answered or the wave timeout has passed; it halts the
rollout when more than the halt threshold of the devices sent have failed.`

// Rollout is canopy-cloud rollout: rollouts of models and config
// overrides to devices.
var Rollout = rolloutCommand(os.Stdout)

// rolloutCommand is canopy-cloud rollout, printing on stdout.
func rolloutCommand(stdout io.Writer) cli.Command {
	act := func(verb string) func([]string) error {
		return func(args []string) error { return rolloutAct(verb, args, stdout) }
	}
	return cli.Command{
		Name:    "rollout",
		Summary: "roll a model or config out to devices in waves: rollout create|status|list|pause|resume|abort",
		Usage:   rolloutUsage,
		Sub: []cli.Command{
			{Name: "create", Summary: "start a rollout of a model or config overrides", Run: func(args []string) error { return rolloutCreate(args, stdout) }},
			{Name: "status", Summary: "a rollout's state and its devices' answers", Run: act("status")},
			{Name: "list", Summary: "every rollout", Run: func(args []string) error { return rolloutList(args, stdout) }},
			{Name: "pause", Summary: "send no further wave until resumed", Run: act("pause")},
			{Name: "resume", Summary: "go on with a paused rollout", Run: act("resume")},
			{Name: "abort", Summary: "stop a rollout for good; devices that have not applied it get back what they had", Run: act("abort")},
		},
	}
}

func runRollout(args []string, stdout io.Writer) error {
	c := rolloutCommand(stdout)
	return c.Exec(args)
}

// withRollouts opens the database of c and the cloud's keys, and calls f
// with a Service over them.
func withRollouts(c config.Serve, f func(ctx context.Context, s *rollout.Service) error) error {
	return site.WithDatabase(c, func(ctx context.Context, d *db.DB) error {
		keys, err := identity.LoadKeys(ctx, d)
		if err != nil {
			return err
		}
		log := site.Logger("info")
		return f(ctx, &rollout.Service{DB: d, Key: keys.Signer, Log: log, Audit: site.RolloutAudit(d, site.Who(), log)})
	})
}

func rolloutCreate(args []string, stdout io.Writer) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("rollout create", flag.ContinueOnError)
	cli.SetUsage(fs, `usage: canopy-cloud rollout create --devices ID[,ID...] [--model FILE] [--config JSON|@FILE] [--waves N] [--canary SHARE]
                              [--halt-threshold SHARE] [--wave-timeout D] [--id ID] [--data DIR | --database-url URL]

Creates a rollout and prints its status as JSON; a running canopy-cloud
serve on the same database sends its waves. Flags:`)
	site.DBFlags(fs, &c)
	var sp rollout.Spec
	fs.StringVar(&sp.ModelPath, "model", "", "the model `file` (ONNX) to roll out")
	devices := fs.String("devices", "", "the devices, comma-separated `IDs`, in the order the waves take them")
	cfg := fs.String("config", "", "agent config overrides: a JSON object of the agent's YAML keys, or @FILE")
	fs.IntVar(&sp.Waves, "waves", rollout.DefaultWaves, "number of waves")
	fs.Float64Var(&sp.Canary, "canary", rollout.DefaultCanary, "share of the devices in the first wave (at least one device)")
	fs.Float64Var(&sp.HaltThreshold, "halt-threshold", rollout.DefaultHaltThreshold, "halt when more than this share of the devices sent fail")
	fs.DurationVar(&sp.WaveTimeout, "wave-timeout", rollout.DefaultWaveTimeout, "send the next wave after this even when devices of the wave have not answered")
	fs.StringVar(&sp.ID, "id", "", "the rollout's `id` (default: made up)")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	for _, d := range strings.Split(*devices, ",") {
		if d = strings.TrimSpace(d); d != "" {
			sp.Devices = append(sp.Devices, d)
		}
	}
	if *cfg != "" {
		b := []byte(*cfg)
		if path, ok := strings.CutPrefix(*cfg, "@"); ok {
			var err error
			if b, err = os.ReadFile(path); err != nil {
				return fmt.Errorf("--config: %w", err)
			}
		}
		sp.Config = json.RawMessage(b)
	}
	return withRollouts(c, func(ctx context.Context, s *rollout.Service) error {
		st, err := s.Create(ctx, sp)
		if err != nil {
			return err
		}
		return cli.PrintJSON(stdout, st)
	})
}

func rolloutList(args []string, stdout io.Writer) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("rollout list", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-cloud rollout list [--data DIR | --database-url URL]\n\nPrints every rollout as JSON. Flags:")
	site.DBFlags(fs, &c)
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	return site.WithDatabase(c, func(ctx context.Context, d *db.DB) error {
		rs, err := d.ListRollouts(ctx)
		if err != nil {
			return err
		}
		return cli.PrintJSON(stdout, map[string]any{"rollouts": rs})
	})
}

// rolloutDoes says what rolloutAct does before it prints the status.
var rolloutDoes = map[string]string{
	"status": "nothing else", "pause": "pausing it: no further wave is sent until resume",
	"resume": "resuming it (a paused one)", "abort": "aborting it for good: devices sent its change that have not applied it get back what they had",
}

// rolloutAct runs status, pause, resume or abort on one rollout; each
// prints the rollout's status.
func rolloutAct(verb string, args []string, stdout io.Writer) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("rollout "+verb, flag.ContinueOnError)
	site.DBFlags(fs, &c)
	table := false
	synopsis := "usage: canopy-cloud rollout " + verb + " ID [--data DIR | --database-url URL]\n\n"
	if verb == "status" {
		fs.BoolVar(&table, "table", false, "print a table of the devices instead of JSON")
		synopsis = "usage: canopy-cloud rollout status ID [--table] [--data DIR | --database-url URL]\n\n"
	}
	cli.SetUsage(fs, synopsis+"Prints the rollout's status (JSON) after "+rolloutDoes[verb]+". Flags:")
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if help, err := cli.Parse(fs, args); help || err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if wire.ValidItemID(id) != nil {
		return fmt.Errorf("rollout %s: give the rollout's id\n%s", verb, rolloutUsage)
	}
	return withRollouts(c, func(ctx context.Context, s *rollout.Service) error {
		var err error
		switch verb {
		case "pause":
			err = s.Pause(ctx, id)
		case "resume":
			err = s.Resume(ctx, id)
		case "abort":
			err = s.Abort(ctx, id)
		}
		if err != nil {
			return err
		}
		st, err := s.Status(ctx, id)
		if err != nil {
			return err
		}
		if table {
			return printRolloutTable(stdout, st)
		}
		return cli.PrintJSON(stdout, st)
	})
}

func printRolloutTable(w io.Writer, st rollout.Status) error {
	fmt.Fprintf(w, "rollout %s: %s %s (wave %d of %d) model %s\n", st.ID, st.State, st.Reason, st.Wave, st.Waves, orDash(st.ModelSHA256))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tWAVE\tVERSION\tSTATE\tRUNS\tBYTES SENT\tDETAIL")
	for _, t := range st.Targets {
		runs := "-"
		if p := t.Reported; p != nil {
			runs = fmt.Sprintf("v%d %.12s %s", p.Version, p.ModelSHA256, p.State)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%s\n", t.Device, t.Wave, t.Version, t.State, runs, t.BytesSent, t.Detail)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
