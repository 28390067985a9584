// Command fleet runs the fleet harness (internal/fleet) and prints its
// report; with --json, one JSON object. It exits 1 when an item confirmed
// by a device is missing from the cloud, stored twice, or not confirmed.
//
//	go run ./scripts/fleet --cloud bin/canopy-cloud --devices 100 --items 20 --receivers 3
//
// With --rollout it rolls a model out to the devices instead (one
// receiver; --agent adds a real canopy-agent; --faults adds the faults of
// issue 23) and reports how long it took and what it sent:
//
//	go run ./scripts/fleet --rollout --cloud bin/canopy-cloud --agent bin/canopy-agent --devices 100 --model-bytes 10485760
//
// The services come from the environment of make test (.cache/test.env):
// CANOPY_TEST_POSTGRES, CANOPY_TEST_S3_ENDPOINT, CANOPY_TEST_S3_ACCESS_KEY,
// CANOPY_TEST_S3_SECRET_KEY.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/canopy-forest/canopy/internal/fleet"
)

func main() {
	if fleet.IsHost() { // started by the harness to run a share of the devices
		if err := fleet.Host(context.Background(), os.Stdin, os.Stdout); err != nil {
			fail(err)
		}
		return
	}
	c := fleet.Defaults
	flag.IntVar(&c.Devices, "devices", c.Devices, "simulated devices")
	flag.IntVar(&c.Items, "items", c.Items, "items a device")
	flag.IntVar(&c.ItemBytes, "item-bytes", c.ItemBytes, "about this many `bytes` an item")
	flag.IntVar(&c.Receivers, "receivers", c.Receivers, "canopy-cloud receivers in one share group")
	flag.IntVar(&c.IngestWorkers, "ingest-workers", 0, "each receiver's --ingest-workers (0: its default)")
	flag.StringVar(&c.CloudBin, "cloud", "bin/canopy-cloud", "canopy-cloud `binary`")
	flag.StringVar(&c.Mosquitto, "mosquitto", "", "mosquitto `binary` for the harness's own broker (default: found on PATH or in /usr/sbin)")
	flag.StringVar(&c.Broker, "broker", "", "use this running broker `URL` instead (no broker restart then), or \"embedded\": the embedded broker of the one receiver")
	flag.StringVar(&c.DatabaseURL, "database-url", os.Getenv("CANOPY_TEST_POSTGRES"), "PostgreSQL `URL` (a database of the run is made there)")
	flag.StringVar(&c.S3Endpoint, "s3-endpoint", os.Getenv("CANOPY_TEST_S3_ENDPOINT"), "S3 `URL` (empty: a shared blob folder)")
	flag.DurationVar(&c.PutOver, "put-over", c.PutOver, "each device spreads its puts over this long")
	flag.DurationVar(&c.KillEvery, "kill-every", c.KillEvery, "SIGKILL a receiver this often (0: never)")
	flag.DurationVar(&c.RestartAfter, "restart-after", c.RestartAfter, "start a killed receiver again after this long")
	flag.DurationVar(&c.BrokerRestartAt, "broker-restart-at", c.BrokerRestartAt, "SIGKILL and restart the broker at this time (0: never)")
	flag.IntVar(&c.CutDevices, "cut-devices", c.CutDevices, "devices whose first connection is cut mid-item")
	flag.DurationVar(&c.FaultsFor, "faults-for", c.FaultsFor, "faults go on this long after the last put")
	flag.DurationVar(&c.AckTimeout, "ack-timeout", c.AckTimeout, "the devices' sync.ack_timeout")
	flag.DurationVar(&c.StatusInterval, "status-interval", c.StatusInterval, "the devices' sync.status_interval")
	flag.DurationVar(&c.IdleFor, "idle-for", 0, "keep every device connected and idle this long before the first put (the receiver's idle cost)")
	flag.IntVar(&c.DevicesPerHost, "devices-per-host", 0, "devices a process runs; more run in device hosts (0: what the file-descriptor limit allows)")
	flag.DurationVar(&c.Deadline, "deadline", c.Deadline, "give up after this long")
	flag.StringVar(&c.Dir, "dir", "", "work `folder` (default: a new temporary one)")
	flag.BoolVar(&c.Keep, "keep", false, "keep the database, buckets and work folder")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	ro := fleet.RolloutConfig{Waves: 1, Canary: 1}
	rolloutMode := flag.Bool("rollout", false, "roll a model out to the devices instead of sending items")
	flag.StringVar(&ro.AgentBin, "agent", "", "with --rollout: a canopy-agent `binary` that joins the fleet")
	flag.StringVar(&ro.Model, "model", "models/treecover-seg.onnx", "with --rollout: the ONNX model `file`, padded to --model-bytes")
	modelBytes := flag.Int64("model-bytes", 10<<20, "with --rollout: the model's size after padding (0: as it is)")
	flag.IntVar(&ro.Waves, "waves", ro.Waves, "with --rollout: waves")
	flag.Float64Var(&ro.Canary, "canary", ro.Canary, "with --rollout: share of the devices in the first wave")
	flag.BoolVar(&ro.Faults, "faults", false, "with --rollout: a device offline, the agent killed mid-download, a corrupt model")
	flag.Int64Var(&ro.AgentMaxRate, "agent-max-rate", 0, "with --rollout: the agent's desired.max_rate (bytes a second)")
	flag.Parse()
	c.S3AccessKey, c.S3SecretKey = os.Getenv("CANOPY_TEST_S3_ACCESS_KEY"), os.Getenv("CANOPY_TEST_S3_SECRET_KEY")
	if c.Broker == "embedded" {
		c.Broker, c.Embedded = "", true
		c.BrokerRestartAt = 0
	}
	if c.Broker == "" && c.Mosquitto == "" && !c.Embedded {
		c.Mosquitto = findMosquitto()
	}
	if c.Broker != "" {
		c.BrokerRestartAt = 0
	}
	if exe, err := os.Executable(); err == nil {
		c.HostCommand = []string{exe} // device hosts, when the devices need more files than one process may open
	}
	if c.Dir == "" {
		d, err := os.MkdirTemp("", "canopy-fleet-")
		if err != nil {
			fail(err)
		}
		c.Dir = d
	}
	if abs, err := filepath.Abs(c.CloudBin); err == nil {
		c.CloudBin = abs
	}
	c.Log = func(format string, a ...any) { fmt.Fprintf(os.Stderr, "fleet: "+format+"\n", a...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *rolloutMode {
		ro.Devices, ro.CloudBin, ro.Broker, ro.DatabaseURL, ro.Dir, ro.Log = c.Devices, c.CloudBin, c.Broker, c.DatabaseURL, c.Dir, c.Log
		ro.Deadline, ro.AgentLib = c.Deadline, os.Getenv("CANOPY_ORT_LIB")
		if ro.Broker == "" {
			ro.DatabaseURL = "" // the embedded broker and SQLite
		}
		if ro.AgentBin != "" {
			if abs, err := filepath.Abs(ro.AgentBin); err == nil {
				ro.AgentBin = abs
			}
		}
		if *modelBytes > 0 {
			if err := os.MkdirAll(c.Dir, 0o755); err != nil {
				fail(err)
			}
			padded := filepath.Join(c.Dir, "model.onnx")
			if err := fleet.PadONNX(ro.Model, padded, *modelBytes); err != nil {
				fail(err)
			}
			ro.Model = padded
		}
		rollout(ctx, ro, *asJSON, c.Keep)
		return
	}
	rep, err := fleet.Run(ctx, c)
	if *asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	} else {
		fmt.Println("Canopy fleet run")
		rep.Print(os.Stdout)
	}
	if err != nil {
		fail(err)
	}
	if !rep.OK() {
		fmt.Fprintln(os.Stderr, "fleet: FAILED: not every item was confirmed and stored exactly once")
		os.Exit(1)
	}
}

// rollout runs fleet.RunRollout and prints its report.
func rollout(ctx context.Context, c fleet.RolloutConfig, asJSON, keep bool) {
	rep, err := fleet.RunRollout(ctx, c)
	if !keep {
		os.RemoveAll(c.Dir)
	}
	if asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	} else {
		fmt.Println("Canopy rollout run")
		rep.Print(os.Stdout)
	}
	if err != nil {
		fail(err)
	}
}

func findMosquitto() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return "/usr/sbin/mosquitto"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fleet:", err)
	os.Exit(1)
}
