// Command canopy-cloud is the cloud receiver: it ingests items from devices,
// stores them, counts trees and serves the results over HTTP.
//
//	canopy-cloud serve [flags]
//	canopy-cloud count [--json] IMAGE...
//	canopy-cloud eval --boxes FILE [--json] DIR
//	canopy-cloud export --scan ID [--format geojson|csv|gpkg|geotxt|odm|mosaic]
//	canopy-cloud token create --scope read|write|metrics|admin [--device ID] [--expires D] --data DIR
//	canopy-cloud token list [--json] --data DIR
//	canopy-cloud token revoke ID-or-NAME --data DIR
//	canopy-cloud device add|list|revoke|purge ID
//	canopy-cloud audit [--since T] [--json]
//	canopy-cloud broker-config --out DIR
//	canopy-cloud rollout create|status|list|pause|resume|abort
//	canopy-cloud reconcile [flags]
//	canopy-cloud recount --scan ID | --since T [--model FILE | --method M]
//	canopy-cloud backup --out DIR [flags]
//	canopy-cloud restore --from DIR [flags]
//	canopy-cloud lambda [flags]
//	canopy-cloud version
//
// Every command answers -h, --help and help (canopy-cloud help COMMAND)
// with its usage.
//
// Named bootstrap and started with no arguments (AWS Lambda's
// provided.al2023 runtime), it runs `lambda`.
package main

import (
	"os"
	"path/filepath"

	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/accesscmd"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/countcmd"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/datacmd"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/rolloutcmd"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/servecmd"
	"github.com/canopy-forest/canopy/internal/cli"
)

// commands is canopy-cloud's command tree.
var commands = cli.Command{
	Name:  "canopy-cloud",
	Usage: "usage: canopy-cloud COMMAND [flags]",
	Sub: []cli.Command{
		servecmd.Serve,
		countcmd.Count,
		countcmd.Eval,
		datacmd.Export,
		accesscmd.Token,
		accesscmd.Device,
		accesscmd.Audit,
		accesscmd.BrokerConfig,
		rolloutcmd.Rollout,
		datacmd.Reconcile,
		datacmd.Recount,
		datacmd.Backup,
		datacmd.Restore,
		servecmd.Lambda,
		{Name: "version", Summary: "print versions", Run: cmdVersion},
	},
}

func main() {
	if len(os.Args) == 1 && filepath.Base(os.Args[0]) == "bootstrap" {
		os.Args = append(os.Args, "lambda")
	}
	os.Exit(cli.Main(&commands, os.Args[1:]))
}
