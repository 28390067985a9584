package fleet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

// TestMain lets the test binary serve as a device host (TestFleetShapes).
func TestMain(m *testing.M) {
	if IsHost() {
		if err := Host(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestFleetShapes runs a small fleet without faults in the other shapes
// of the harness: devices split over device host processes (as when they
// need more file descriptors than one process may open), and devices on
// the embedded broker of one receiver, each with its own identity. Every
// item is confirmed and stored once, every device connected, and the
// receiver's use is measured.
func TestFleetShapes(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-cloud")
	mq, pg := os.Getenv("CANOPY_TEST_MQTT"), os.Getenv("CANOPY_TEST_POSTGRES")
	if mq == "" || pg == "" {
		t.Skip("CANOPY_TEST_MQTT and CANOPY_TEST_POSTGRES are needed (make test sets them)")
	}
	for _, tc := range []struct {
		name string
		set  func(c *Config)
	}{
		{"device hosts", func(c *Config) { c.Broker, c.DevicesPerHost, c.HostCommand = mq, 2, []string{os.Args[0]} }},
		{"embedded broker", func(c *Config) { c.Embedded = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{
				Devices: 5, Items: 2, ItemBytes: 20 << 10, Receivers: 1, CloudBin: bin, DatabaseURL: pg,
				PutOver: 2 * time.Second, IdleFor: time.Second, Deadline: 2 * time.Minute,
			}
			tc.set(&c)
			rep := runFleet(t, c)
			if !rep.OK() || rep.Put != c.Devices*c.Items || rep.NeverConnected != 0 {
				t.Errorf("put %d, confirmed %d, stored %d, never connected %d: want all %d confirmed and stored once",
					rep.Put, rep.Confirmed, rep.Stored, rep.NeverConnected, c.Devices*c.Items)
			}
			if rep.Receiver.RSSIdleMiB <= 0 || rep.Receiver.BusyCPUSeconds <= 0 {
				t.Errorf("receiver use not measured: %+v", rep.Receiver)
			}
		})
	}
}

// TestShareGroupSurvivesSIGKILL: two and then three canopy-cloud receivers
// in one share group on the real Mosquitto of the test suite, devices
// sending multi-chunk items, one receiver SIGKILLed mid-run and started
// again: every item is confirmed, stored exactly once, and every outbox
// drains.
func TestShareGroupSurvivesSIGKILL(t *testing.T) {
	bin := e2etest.Bin(t, "canopy-cloud")
	mq, pg := os.Getenv("CANOPY_TEST_MQTT"), os.Getenv("CANOPY_TEST_POSTGRES")
	if mq == "" || pg == "" {
		t.Skip("CANOPY_TEST_MQTT and CANOPY_TEST_POSTGRES are needed (make test sets them)")
	}
	for _, receivers := range []int{2, 3} {
		t.Run(map[int]string{2: "two receivers", 3: "three receivers"}[receivers], func(t *testing.T) {
			c := Config{
				Devices: 6, Items: 8, ItemBytes: 300 << 10, Receivers: receivers,
				CloudBin: bin, Broker: mq, DatabaseURL: pg,
				PutOver: 6 * time.Second, KillEvery: 3 * time.Second, RestartAfter: time.Second,
				CutDevices: 1, AckTimeout: 5 * time.Second, Deadline: 3 * time.Minute,
			}
			rep := runFleet(t, c)
			if rep.Kills < 1 {
				t.Errorf("no receiver was killed")
			}
			if !rep.OK() || rep.Put != c.Devices*c.Items {
				t.Errorf("put %d, confirmed %d, stored %d, lost %d, duplicated %d, unconfirmed %d: want all %d confirmed and stored once",
					rep.Put, rep.Confirmed, rep.Stored, rep.Lost, rep.Duplicated, rep.Unconfirmed, c.Devices*c.Items)
			}
			if limit := c.AckTimeout + 30*time.Second; rep.WaitAfterFault > limit {
				t.Errorf("an item waited %v after the last fault, want at most %v", rep.WaitAfterFault, limit)
			}
		})
	}
}

// runFleet runs c on the test's S3 server, in a folder of the test, and
// logs its report; it fails the test if the run fails.
func runFleet(t *testing.T, c Config) Report {
	t.Helper()
	c.S3Endpoint = os.Getenv("CANOPY_TEST_S3_ENDPOINT")
	c.S3AccessKey, c.S3SecretKey = os.Getenv("CANOPY_TEST_S3_ACCESS_KEY"), os.Getenv("CANOPY_TEST_S3_SECRET_KEY")
	c.Dir, c.Log = t.TempDir(), t.Logf
	rep, err := Run(context.Background(), c)
	var b bytes.Buffer
	rep.Print(&b)
	t.Logf("report:\n%s", b.String())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {1, 10}, {0.1, 1}, {0, 1}} {
		if got := percentile(ds, tc.q); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(none) = %v, want 0", got)
	}
}

// TestReceiveAfterExit: a device host's last message is taken even when
// the host has ended by the time the harness reads it (with both ready, a
// plain select would drop it half of the time: 512 devices' results of
// the first 10,000-device run).
func TestReceiveAfterExit(t *testing.T) {
	for range 100 {
		h := &hostProc{results: make(chan []deviceResult, 1), exited: make(chan struct{})}
		h.results <- []deviceResult{{ID: "d1"}}
		close(h.exited)
		if rs, ok := receive(h, h.results); !ok || len(rs) != 1 {
			t.Fatalf("got %v, %v; want the results sent before the exit", rs, ok)
		}
	}
	h := &hostProc{results: make(chan []deviceResult, 1), exited: make(chan struct{})}
	close(h.exited)
	if _, ok := receive(h, h.results); ok {
		t.Fatal("a host that sent nothing: got results")
	}
}
