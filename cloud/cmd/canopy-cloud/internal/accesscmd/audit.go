package accesscmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/internal/cli"
)

// Audit is canopy-cloud audit.
var Audit = cli.Command{Name: "audit", Summary: "the audit trail: who added or revoked devices and tokens, uploaded, exported (audit [--since] [--json])", Run: cmdAudit}

// cmdAudit: canopy-cloud audit [--since T] [--json], the audit trail,
// oldest first.
func cmdAudit(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	cli.SetUsage(fs, `usage: canopy-cloud audit [--since TIME|DURATION] [--limit N] [--json] [--data DIR | --database-url URL]

The audit trail, oldest first: who (token:<id> (name) for the HTTP API,
cli:<user>@<host> for this command line) added or revoked a device, created
or revoked a token, uploaded an image, exported a scan or rolled out a model,
and when. The trail is append-only. Flags:`)
	site.DBFlags(fs, &c)
	since := fs.String("since", "", "entries from this RFC 3339 `time`, or this far back (24h, 7d)")
	limit := fs.Int("limit", 1000, "at most this many `entries`")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	q := db.AuditQuery{Limit: *limit}
	if *limit < 1 {
		return errors.New("--limit: want 1 or more")
	}
	if *since != "" {
		t, err := api.ParseSince(*since, time.Now())
		if err != nil {
			return fmt.Errorf("--%w", err)
		}
		q.Since = t
	}
	var es []db.AuditEntry
	if err := site.WithExistingDatabase(c, func(ctx context.Context, d *db.DB) (err error) {
		es, err = d.ListAudit(ctx, q)
		return err
	}); err != nil {
		return err
	}
	if *asJSON {
		return cli.PrintJSON(os.Stdout, es)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tWHO\tACTION\tSUBJECT\tDETAIL")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Who, e.Action, e.Subject, strings.ReplaceAll(e.Detail, "\t", " "))
	}
	return tw.Flush()
}
