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

	"github.com/canopy-forest/canopy/internal/cli"
)

// commands is canopy-cloud's command tree.
var commands = cli.Command{
	Name:  "canopy-cloud",
	Usage: "usage: canopy-cloud COMMAND [flags]",
	Sub: []cli.Command{
		{Name: "serve", Summary: "run the receiver: ingest, storage, counting workers, HTTP", Run: cmdServe},
		{Name: "count", Summary: "count the trees in image files", Run: cmdCount},
		{Name: "eval", Summary: "score the counter against ground-truth boxes", Run: cmdEval},
		{Name: "export", Summary: "export a scan's trees (GeoJSON, CSV, GeoPackage), photos (OpenDroneMap) or mosaic (JPEG, GeoTIFF)", Run: cmdExport},
		tokenCommand(os.Stdout, os.Stderr),
		deviceCommand,
		{Name: "audit", Summary: "the audit trail: who added or revoked devices and tokens, uploaded, exported (audit [--since] [--json])", Run: cmdAudit},
		{Name: "broker-config", Summary: "write Mosquitto's password and ACL files from the device registry", Run: cmdBrokerConfig},
		rolloutCommand(os.Stdout),
		{Name: "reconcile", Summary: "find stored objects with no database row and remove or link them", Run: cmdReconcile},
		{Name: "recount", Summary: "count a scan's images (or those since a time) again, with another model or method", Run: cmdRecount},
		{Name: "backup", Summary: "copy the database and every stored object into a folder", Run: cmdBackup},
		{Name: "restore", Summary: "restore a backup folder into a new database and blob store", Run: cmdRestore},
		{Name: "lambda", Summary: "the counting worker as an AWS Lambda function (S3 object-created events)", Run: cmdLambda},
		{Name: "version", Summary: "print versions", Run: cmdVersion},
	},
}

func main() {
	if len(os.Args) == 1 && filepath.Base(os.Args[0]) == "bootstrap" {
		os.Args = append(os.Args, "lambda")
	}
	os.Exit(cli.Main(&commands, os.Args[1:]))
}
