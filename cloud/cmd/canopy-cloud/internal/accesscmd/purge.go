package accesscmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/retain"
	"github.com/canopy-forest/canopy/internal/cli"
)

// confirmPurge is the flag device purge wants before it deletes anything.
const confirmPurge = "yes-delete-everything"

// devicePurge: canopy-cloud device purge ID --yes-delete-everything.
func devicePurge(args []string) error {
	c := config.DefaultServe()
	fs := flag.NewFlagSet("device purge", flag.ContinueOnError)
	cli.SetUsage(fs, `usage: canopy-cloud device purge ID --`+confirmPurge+` [flags]

Deletes every object and row of a device, for good: its raw images,
masks, annotated images and counts (kept ones too), its scans left with no
image, its status, its identity and the API tokens bound to it. Its
identity is revoked first, so a device still connected is refused. Run it
again if it stops half-way: it finishes the work. Flags:`)
	yes := fs.Bool(confirmPurge, false, "confirm: without it nothing is deleted")
	asJSON := fs.Bool("json", false, "print what was deleted as JSON")
	site.StoreFlags(fs, &c)
	id, help, err := parseWithID(fs, args)
	if help || err != nil {
		return err
	}
	if !*yes {
		return fmt.Errorf("device purge deletes every object and row of %s for good: run it again with --%s", id, confirmPurge)
	}
	var p retain.Purged
	if err := site.WithStore(c, func(ctx context.Context, d *db.DB, blobs blob.Store) (err error) {
		if p, err = retain.PurgeDevice(ctx, d, blobs, id); err != nil {
			return err
		}
		return site.Audit(ctx, d, db.AuditDevicePurge, id, fmt.Sprintf("%d objects, %d images, %d counts", p.Objects, p.Images, p.Counts))
	}); err != nil {
		return fmt.Errorf("%w (run device purge again to finish)", err)
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(p)
	}
	fmt.Printf("device %s purged: %d objects, %d images, %d counts, %d scans left empty, %d staged chunks, %d devices rows, %d identities, %d API tokens\n",
		id, p.Objects, p.Images, p.Counts, p.Scans, p.StagedChunks, p.Device, p.Credential, p.Tokens)
	return nil
}
