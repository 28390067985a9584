package datacmd

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/internal/cli"
)

// Reconcile is canopy-cloud reconcile.
var Reconcile = cli.Command{Name: "reconcile", Summary: "find stored objects with no database row and remove or link them", Run: cmdReconcile}

func cmdReconcile(args []string) error {
	c := config.DefaultServe()
	var o ingest.ReconcileOptions
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-cloud reconcile [--delete] [--dry-run] [flags]\n\nFinds objects in the raw bucket with no database row. An item whose\nmeta.json object is there gets its row again (and its counting job);\nthe others are listed, or removed with --delete (run --delete while no\nreceiver is storing). Then it finds objects of the processed bucket that\nno count names (removed with --delete too) and objects that rows name\nbut the store lacks (listed as missing). Flags:")
	site.StoreFlags(fs, &c)
	fs.StringVar(&o.Prefix, "prefix", "", "only objects whose key starts with `prefix` (e.g. DEVICE/2026/)")
	fs.BoolVar(&o.Delete, "delete", false, "remove the objects of items that cannot be linked")
	fs.BoolVar(&o.DryRun, "dry-run", false, "only say what would be done")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	var actions []ingest.Action
	err := site.WithStore(c, func(ctx context.Context, d *db.DB, blobs blob.Store) (err error) {
		actions, err = ingest.Reconcile(ctx, blobs, d, o)
		if err == nil {
			var more []ingest.Action
			more, err = ingest.CheckStore(ctx, blobs, d, o)
			actions = append(actions, more...)
		}
		return err
	})
	counts := map[string]int{}
	for _, a := range actions {
		counts[a.Op]++
		line := fmt.Sprintf("%-8s %s  %s", a.Op, a.ItemID, strings.Join(a.Keys, " "))
		if a.Detail != "" {
			line += "  (" + a.Detail + ")"
		}
		fmt.Println(line)
	}
	verb := ""
	if o.DryRun {
		verb = " (dry run: nothing changed)"
	}
	fmt.Printf("reconcile: %d linked, %d deleted, %d orphans left, %d missing objects%s\n", counts["linked"], counts["deleted"], counts["orphan"], counts["missing"], verb)
	if counts["orphan"] > 0 && !o.Delete {
		fmt.Println("reconcile: run with --delete to remove the orphans")
	}
	return err
}
