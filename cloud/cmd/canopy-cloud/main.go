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
// Named bootstrap and started with no arguments (AWS Lambda's
// provided.al2023 runtime), it runs `lambda`.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{
	"serve":         {"run the receiver: ingest, storage, counting workers, HTTP", cmdServe},
	"count":         {"count the trees in image files", cmdCount},
	"eval":          {"score the counter against ground-truth boxes", cmdEval},
	"export":        {"export a scan's trees (GeoJSON, CSV, GeoPackage), photos (OpenDroneMap) or mosaic (JPEG, GeoTIFF)", cmdExport},
	"token":         {"create, list and revoke API tokens (token create|list|revoke)", cmdToken},
	"device":        {"register, list, revoke and purge devices (and receivers, producers): device add|list|revoke|purge", cmdDevice},
	"audit":         {"the audit trail: who added or revoked devices and tokens, uploaded, exported (audit [--since] [--json])", cmdAudit},
	"broker-config": {"write Mosquitto's password and ACL files from the device registry", cmdBrokerConfig},
	"rollout":       {"roll a model or config out to devices in waves: rollout create|status|list|pause|resume|abort", cmdRollout},
	"reconcile":     {"find stored objects with no database row and remove or link them", cmdReconcile},
	"recount":       {"count a scan's images (or those since a time) again, with another model or method", cmdRecount},
	"backup":        {"copy the database and every stored object into a folder", cmdBackup},
	"restore":       {"restore a backup folder into a new database and blob store", cmdRestore},
	"lambda":        {"the counting worker as an AWS Lambda function (S3 object-created events)", cmdLambda},
	"version":       {"print versions", cmdVersion},
}

func main() {
	if len(os.Args) == 1 && filepath.Base(os.Args[0]) == "bootstrap" {
		os.Args = append(os.Args, "lambda")
	}
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "canopy-cloud: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "canopy-cloud %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: canopy-cloud COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", n, commands[n].summary)
	}
}
