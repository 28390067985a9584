package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/canopy-forest/canopy/boards"
	"github.com/canopy-forest/canopy/internal/cli"
)

// cmdBoards lists the board profiles and marks the detected one; with a
// name it prints that profile in full (as YAML, the format of a profile).
func cmdBoards(args []string) error {
	fs := flag.NewFlagSet("boards", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	cli.SetUsage(fs, "usage: canopy-agent boards [--json] [NAME]\n\n"+
		"Lists the board profiles and marks the one detected here; with a NAME, prints that profile. Flags:")
	if help, err := cli.Parse(fs, args); help || err != nil {
		return err
	}
	detected, found := boards.Detect()
	switch fs.NArg() {
	case 0:
	case 1:
		p, err := boards.Lookup(fs.Arg(0))
		if err != nil {
			return err
		}
		if *asJSON {
			return cli.PrintJSON(os.Stdout, p)
		}
		return yaml.NewEncoder(os.Stdout).Encode(p)
	default:
		return fmt.Errorf("want at most one board name, got %q", fs.Args())
	}
	all, err := boards.All()
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			boards.Profile `yaml:",inline"`
			Detected       bool `json:"detected"`
		}
		rows := make([]row, len(all))
		for i, p := range all {
			rows[i] = row{p, found && p.Name == detected.Name}
		}
		return cli.PrintJSON(os.Stdout, rows)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\tNAME\tPROVIDER\tCAMERA\tDESCRIPTION")
	for _, p := range all {
		mark := ""
		if found && p.Name == detected.Name {
			mark = "*"
		}
		cam := strings.TrimSpace(fmt.Sprintf("%dx%d@%g %s %s", p.Camera.Width, p.Camera.Height, p.Camera.FPS, cameraKind(p.Camera.Source), p.Camera.Model))
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mark, p.Name, p.ONNX.Provider, cam, p.Description)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if found {
		fmt.Printf("\n* detected on this machine (%s)\n", detectedFrom())
	} else {
		fmt.Println("\nno profile matches this machine: pass --board NAME to canopy-agent run")
	}
	return nil
}

// cameraKind names the kind of capture source in a short word.
func cameraKind(src string) string {
	switch {
	case strings.Contains(src, "!"):
		return "gstreamer:" + strings.Fields(src)[0]
	case strings.Contains(src, "://"):
		return "url"
	case strings.Trim(src, "0123456789") == "":
		return "v4l2:" + src
	default:
		return "file:" + src
	}
}

func detectedFrom() string {
	if b, err := os.ReadFile(boards.DeviceTreeModel); err == nil {
		return fmt.Sprintf("%s: %q", boards.DeviceTreeModel, boards.Model(b))
	}
	return "default for this architecture"
}
