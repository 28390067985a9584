package ingest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/broker"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/sync/wire"
)

func dbRows(d *db.DB) func(t *testing.T, device string) int {
	return func(t *testing.T, device string) int {
		imgs, _, err := d.ListImages(context.Background(), db.ImageQuery{Device: device, Limit: db.MaxLimit})
		if err != nil {
			t.Fatalf("ListImages: %v", err)
		}
		return len(imgs)
	}
}

// startBroker runs the embedded broker on a free loopback port until the
// test ends and returns its URL.
func startBroker(t *testing.T) string {
	t.Helper()
	b, err := broker.New(broker.Config{Addr: "127.0.0.1:0", Anonymous: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go b.Run(t.Context())
	return b.URL()
}

// TestReceiverSQLite: the embedded setup (in-process broker, blob folder,
// SQLite).
func TestReceiverSQLite(t *testing.T) {
	d := dbtest.SQLite(t)
	runReceiverSuite(t, suiteEnv{broker: startBroker(t), topics: wire.Topics{Root: "t"}, blobs: blobtest.Local(t), db: d, rows: dbRows(d)})
}

// TestReceiverServices: the real Mosquitto, S3 server and PostgreSQL.
func TestReceiverServices(t *testing.T) {
	mq := os.Getenv("CANOPY_TEST_MQTT")
	if mq == "" {
		t.Skip("CANOPY_TEST_MQTT is not set: no Mosquitto to test against")
	}
	d, err := db.Open(context.Background(), dbtest.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	root := fmt.Sprintf("test-ingest-%d", time.Now().UnixNano())
	runReceiverSuite(t, suiteEnv{broker: mq, topics: wire.Topics{Root: root}, blobs: blobtest.S3(t), db: d, rows: dbRows(d)})
}
