package fleet

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"

	"github.com/canopy-forest/canopy/cloud/blob"
)

// Report is what a fleet run did and what the cloud ended up with.
type Report struct {
	Devices, Items, Receivers int
	ItemBytes                 int
	Broker                    string

	Put         int // items put in the outboxes
	Confirmed   int // items acknowledged to their device (left its outbox)
	Rejected    int // items the cloud rejected (dead letters)
	Unconfirmed int // items put and still waiting at the end

	Stored            int // confirmed items with their row and raw object
	Lost              int // confirmed items without their row or object
	Duplicated        int // items stored more than once (rows of one item, or one image under two ids)
	StoredUnconfirmed int // rows of items their device never saw confirmed

	P50, P99, Max   time.Duration // from put to confirmation
	WaitAfterFault  time.Duration // longest an item waited after the last fault (or its put, if later)
	LastFaultAt     time.Duration // when the last fault happened, from the start
	Kills           int           // receivers SIGKILLed
	BrokerRestarts  int
	Cuts            int           // device connections cut mid-item
	Retransmitted   int64         // items sent again by the devices
	BadAcks         int64         // acks the devices ignored (not a valid receipt of the cloud)
	Reconnects      int64         // device reconnections
	ConnectFailures int64         // device connection attempts that failed
	NeverConnected  int           // devices that never connected
	ConnectTime     time.Duration // from the devices' start until all were connected
	Elapsed         time.Duration
	// Receiver (the first) and OwnBroker (the harness's Mosquitto) as
	// /proc saw them, in runs without receiver kills (broker restarts).
	Receiver  Usage
	OwnBroker *Usage `json:",omitempty"`
	// DevicesCPU is the CPU seconds the simulated devices took (the
	// harness, or its device hosts) from the first put to the end: they
	// share the machine with the receiver.
	DevicesCPU float64
	// MachineBusy is the share of all the machine's cores that were busy
	// from the first put to the end (every process: the run's and others').
	MachineBusy       float64
	LostIDs, DupIDs   []string `json:",omitempty"` // at most 20 each, for the log
	start, lastFault  time.Time
	confirmedAtByItem map[string]time.Time
}

// OK reports whether every confirmed item was stored exactly once and
// every item put was confirmed.
func (r Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Unconfirmed == 0 && r.Rejected == 0 && r.BadAcks == 0 && r.Confirmed == r.Put
}

// collect reads the devices' puts and confirmations.
func (r *Report) collect(devs []deviceResult, lastFault time.Time) {
	r.lastFault = lastFault
	r.confirmedAtByItem = map[string]time.Time{}
	var lat []time.Duration
	var first time.Time
	for _, d := range devs {
		for id, put := range d.Puts {
			r.Put++
			if first.IsZero() || put.Before(first) {
				first = put
			}
			if _, ok := d.Rejected[id]; ok {
				r.Rejected++
				continue
			}
			at, ok := d.Acked[id]
			if !ok {
				r.Unconfirmed++
				continue
			}
			r.Confirmed++
			r.confirmedAtByItem[id] = at
			lat = append(lat, at.Sub(put))
			from := put
			if lastFault.After(put) {
				from = lastFault
			}
			if w := at.Sub(from); w > r.WaitAfterFault {
				r.WaitAfterFault = w
			}
		}
		st := d.Stats
		r.Retransmitted += st.Retransmitted
		r.BadAcks += st.BadAcks
		r.Reconnects += st.Reconnects
		r.ConnectFailures += st.ConnectFailures
		if !d.EverConnected {
			r.NeverConnected++
		}
	}
	r.start = first
	if !lastFault.IsZero() && lastFault.Unix() > 0 && !first.IsZero() {
		r.LastFaultAt = lastFault.Sub(first)
	}
	r.P50, r.P99, r.Max = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1)
}

// percentile is the q-quantile of ds (nearest rank); 0 for none.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// verify checks the database and the raw objects against the confirmations.
func (r *Report) verify(ctx context.Context, c Config, dsn, bucketPrefix string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT item_id, raw_key, content_sha256 FROM images`)
	if err != nil {
		return fmt.Errorf("fleet: read images: %w", err)
	}
	defer rows.Close()
	type row struct{ key, sum string }
	got := map[string][]row{}
	bySum := map[string][]string{}
	for rows.Next() {
		var id, key, sum string
		if err := rows.Scan(&id, &key, &sum); err != nil {
			return err
		}
		got[id] = append(got[id], row{key, sum})
		bySum[sum] = append(bySum[sum], id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	store, err := openStore(ctx, c, bucketPrefix)
	if err != nil {
		return err
	}
	for id, rs := range got {
		if len(rs) > 1 {
			r.Duplicated++
			r.DupIDs = appendSome(r.DupIDs, id)
		}
		if _, ok := r.confirmedAtByItem[id]; !ok {
			r.StoredUnconfirmed++
		}
	}
	for sum, ids := range bySum {
		if len(ids) > 1 {
			r.Duplicated += len(ids) - 1
			r.DupIDs = appendSome(r.DupIDs, "sha256:"+sum[:12])
		}
	}
	for id := range r.confirmedAtByItem {
		rs, ok := got[id]
		if ok {
			ok, err = store.Exists(ctx, blob.Raw, rs[0].key)
			if err != nil {
				return fmt.Errorf("fleet: look up %s: %w", rs[0].key, err)
			}
		}
		if ok {
			r.Stored++
		} else {
			r.Lost++
			r.LostIDs = appendSome(r.LostIDs, id)
		}
	}
	return nil
}

func appendSome(s []string, v string) []string {
	if len(s) < 20 {
		s = append(s, v)
	}
	return s
}

// openStore opens the blob store the receivers wrote to.
func openStore(ctx context.Context, c Config, prefix string) (interface {
	Exists(ctx context.Context, bucket, key string) (bool, error)
}, error) {
	if c.S3Endpoint == "" {
		return blob.NewLocal(c.Dir + "/cloud/blobs")
	}
	return blob.NewS3(ctx, blob.S3Config{Endpoint: c.S3Endpoint, PathStyle: true, Prefix: prefix,
		AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey})
}

// removeBuckets deletes the run's buckets and their objects.
func removeBuckets(ctx context.Context, c Config, prefix string) {
	if c.S3Endpoint == "" {
		return
	}
	s, err := blob.NewS3(ctx, blob.S3Config{Endpoint: c.S3Endpoint, PathStyle: true, Prefix: prefix,
		AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey})
	if err != nil {
		return
	}
	for _, b := range blob.Buckets {
		keys, _ := s.List(ctx, b, "")
		for _, k := range keys {
			_ = s.Delete(ctx, b, k)
		}
		_ = s.RemoveBucket(ctx, b)
	}
}

// createDatabase makes database name on the server of base and returns
// its URL and a function that drops it.
func createDatabase(ctx context.Context, base, name string) (string, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("fleet: create database %s: %w", name, err)
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
		admin.Close()
	}
	return u.String(), drop, nil
}

// Print writes the report as a table.
func (r Report) Print(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	lines := [][2]string{
		{"devices x items", fmt.Sprintf("%d x %d (%d KB each, %d receivers)", r.Devices, r.Items, r.ItemBytes>>10, r.Receivers)},
		{"broker", r.Broker},
		{"all devices connected after", ms(r.ConnectTime)},
		{"faults", fmt.Sprintf("%d receiver SIGKILLs, %d broker restarts, %d link cuts mid-item; last at %s", r.Kills, r.BrokerRestarts, r.Cuts, ms(r.LastFaultAt))},
		{"put", fmt.Sprint(r.Put)},
		{"confirmed by the devices", fmt.Sprint(r.Confirmed)},
		{"stored (row and object)", fmt.Sprint(r.Stored)},
		{"lost (confirmed, not stored)", fmt.Sprint(r.Lost)},
		{"duplicated", fmt.Sprint(r.Duplicated)},
		{"unconfirmed at the end", fmt.Sprint(r.Unconfirmed)},
		{"rejected", fmt.Sprint(r.Rejected)},
		{"put -> ack p50 / p99 / max", ms(r.P50) + " / " + ms(r.P99) + " / " + ms(r.Max)},
		{"longest wait after the last fault", ms(r.WaitAfterFault)},
		{"retransmissions, reconnects", fmt.Sprintf("%d, %d", r.Retransmitted, r.Reconnects)},
		{"connect failures; devices never connected", fmt.Sprintf("%d; %d", r.ConnectFailures, r.NeverConnected)},
		{"acks not signed by the cloud", fmt.Sprint(r.BadAcks)},
		{"elapsed", ms(r.Elapsed)},
	}
	use := func(name string, u Usage) {
		if u.RSSIdleMiB == 0 {
			return
		}
		lines = append(lines,
			[2]string{name + " RSS start / idle / peak", fmt.Sprintf("%.0f / %.0f / %.0f MiB (%.1f KiB a device)", u.RSSStartMiB, u.RSSIdleMiB, u.RSSPeakMiB, u.PerDeviceKiB)},
			[2]string{name + " CPU idle; busy", fmt.Sprintf("%.3f s/s; %.1f s, %.2f ms an item", u.IdleCPU, u.BusyCPUSeconds, u.CPUPerItemMs)})
	}
	use("receiver", r.Receiver)
	lines = append(lines, [2]string{"devices (harness) CPU, busy; machine busy", fmt.Sprintf("%.1f s; %.0f%% of all cores", r.DevicesCPU, 100*r.MachineBusy)})
	if r.OwnBroker != nil {
		use("broker", *r.OwnBroker)
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-42s %s\n", l[0], l[1])
	}
	if len(r.LostIDs) > 0 {
		fmt.Fprintf(w, "  lost: %s\n", strings.Join(r.LostIDs, " "))
	}
	if len(r.DupIDs) > 0 {
		fmt.Fprintf(w, "  duplicated: %s\n", strings.Join(r.DupIDs, " "))
	}
}
