package fleet

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/internal/ulid"
)

// Run runs one fleet: the broker (its own Mosquitto, or c.Broker), a
// database of its own, c.Receivers canopy-cloud receivers in one share
// group, and c.Devices devices that put c.Items items each while the
// faults happen; it waits until every device's outbox has drained (or the
// deadline), stops everything and checks the database and the blob store
// against what the devices confirmed.
func Run(ctx context.Context, c Config) (Report, error) {
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return Report{}, fmt.Errorf("fleet: %w", err)
	}
	logf := c.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithTimeout(ctx, c.Deadline)
	defer cancel()
	run := strings.ToLower(strings.ReplaceAll(time.Now().UTC().Format("0102-150405.000"), ".", ""))
	root := "fleet-" + run
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return Report{}, err
	}
	if !c.Keep {
		defer os.RemoveAll(c.Dir)
	}

	// The database and buckets of this run.
	dsn, dropDB, err := createDatabase(ctx, c.DatabaseURL, "fleet_"+strings.ReplaceAll(run, "-", "_"))
	if err != nil {
		return Report{}, err
	}
	if !c.Keep {
		defer dropDB()
	}
	bucketPrefix := "fleet" + strings.ReplaceAll(run, "-", "") + "-"

	// The broker.
	broker := c.Broker
	var mq *mosquitto
	if c.Mosquitto != "" {
		if mq, err = startMosquitto(ctx, c.Mosquitto, filepath.Join(c.Dir, "broker")); err != nil {
			return Report{}, err
		}
		defer mq.kill(syscall.SIGTERM)
		broker = mq.url()
	}
	logf("broker %s, topic root %s, database %s", broker, root, redactDSN(dsn))

	// The receivers.
	rs, err := startReceivers(ctx, c, c.Receivers, broker, dsn, root, bucketPrefix)
	if err != nil {
		return Report{}, err
	}
	defer rs.stop()
	logf("%d receivers ready", c.Receivers)
	// Receipts on: devices act only on acks signed with the cloud's key,
	// which the receivers made in the run's database.
	cloudKey, err := loadCloudKey(ctx, dsn)
	if err != nil {
		return Report{}, err
	}

	// The devices.
	maker, err := newItemMaker(c.ItemBytes)
	if err != nil {
		return Report{}, err
	}
	devLog := slog.New(slog.DiscardHandler)
	if err := os.MkdirAll(filepath.Join(c.Dir, "devices"), 0o755); err != nil {
		return Report{}, err
	}
	devs := make([]*device, c.Devices)
	for i := range devs {
		cut := int64(0)
		if i < c.CutDevices {
			cut = int64(c.ItemBytes)/2 + 137 // in the middle of the first item
		}
		d, err := newDevice(deviceOptions{id: fmt.Sprintf("%s-d%03d", root, i), dir: filepath.Join(c.Dir, "devices"), broker: broker,
			root: root, ackTimeout: c.AckTimeout, cutAfter: cut, cloudKey: cloudKey, log: devLog})
		if err != nil {
			return Report{}, err
		}
		defer d.close()
		devs[i] = d
	}
	devCtx, stopDevices := context.WithCancel(ctx)
	var devWG sync.WaitGroup
	for _, d := range devs {
		devWG.Go(func() { d.run(devCtx) })
	}
	defer func() { stopDevices(); devWG.Wait() }()

	start := time.Now()
	var lastFault atomic.Int64 // Unix nanoseconds
	fault := func() { lastFault.Store(time.Now().UnixNano()) }
	rep := Report{Devices: c.Devices, Items: c.Items, Receivers: c.Receivers, ItemBytes: c.ItemBytes}

	// Puts: each device spreads its items over PutOver.
	var putWG sync.WaitGroup
	var putErr atomic.Pointer[error]
	ids := ulid.NewGenerator(nil)
	for _, d := range devs {
		putWG.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
			for k := range c.Items {
				at := start.Add(time.Duration((float64(k) + rnd.Float64()) * float64(c.PutOver) / float64(c.Items)))
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(at)):
				}
				id, err := ids.New(time.Now())
				if err == nil {
					err = d.put(ctx, maker.item(id, d.id, root, uint64(k+1), time.Now()))
				}
				if err != nil {
					putErr.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}

	// Faults, until FaultsFor after the last put.
	faultCtx, stopFaults := context.WithCancel(ctx)
	var faultWG sync.WaitGroup
	putsDone := make(chan struct{})
	go func() { putWG.Wait(); close(putsDone) }()
	faultWG.Go(func() {
		select {
		case <-putsDone:
		case <-faultCtx.Done():
			return
		}
		select {
		case <-time.After(c.FaultsFor):
		case <-faultCtx.Done():
		}
		stopFaults()
	})
	var killMu sync.Mutex // a kill and its restart at a time
	if c.KillEvery > 0 && c.Receivers > 0 {
		faultWG.Go(func() {
			t := time.NewTicker(c.KillEvery)
			defer t.Stop()
			for n := 0; ; n++ {
				select {
				case <-faultCtx.Done():
					return
				case <-t.C:
				}
				i := n % c.Receivers
				killMu.Lock()
				rs.kill(i)
				fault()
				rep.Kills++
				logf("t=%4.1fs SIGKILL receiver %d", time.Since(start).Seconds(), i)
				select {
				case <-time.After(c.RestartAfter):
				case <-ctx.Done():
				}
				if err := rs.restart(i); err != nil {
					logf("restart receiver %d: %v", i, err)
				}
				killMu.Unlock()
			}
		})
	}
	if c.BrokerRestartAt > 0 && mq != nil {
		faultWG.Go(func() {
			select {
			case <-faultCtx.Done():
				return
			case <-time.After(c.BrokerRestartAt):
			}
			mq.kill(syscall.SIGKILL)
			fault()
			rep.BrokerRestarts++
			logf("t=%4.1fs broker SIGKILLed and started again", time.Since(start).Seconds())
			if err := mq.restart(ctx); err != nil {
				logf("broker restart: %v", err)
			}
		})
	}
	// Cuts happen on the proxies; note when they do.
	faultWG.Go(func() {
		seen := 0
		for {
			n := 0
			for _, d := range devs {
				if d.proxy != nil {
					n += d.proxy.Cuts()
				}
			}
			if n > seen {
				seen = n
				fault()
			}
			rep.Cuts = n
			if n == c.CutDevices {
				return
			}
			select {
			case <-faultCtx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})

	// Wait for the puts and the faults, then for every outbox to drain.
	<-putsDone
	if p := putErr.Load(); p != nil {
		stopFaults()
		faultWG.Wait()
		return rep, fmt.Errorf("fleet: put: %w", *p)
	}
	logf("t=%4.1fs all %d items put", time.Since(start).Seconds(), c.Devices*c.Items)
	<-faultCtx.Done()
	faultWG.Wait()
	logf("t=%4.1fs faults over", time.Since(start).Seconds())
	for {
		n := 0
		for _, d := range devs {
			if d.drained() {
				n++
			}
		}
		if n == len(devs) {
			logf("t=%4.1fs every outbox drained", time.Since(start).Seconds())
			break
		}
		select {
		case <-ctx.Done():
			logf("deadline: %d of %d outboxes drained", n, len(devs))
		case <-time.After(200 * time.Millisecond):
			continue
		}
		break
	}
	rep.Elapsed = time.Since(start)
	stopDevices()
	devWG.Wait()
	rs.stop()

	// What the devices say, then what the cloud has.
	rep.collect(devs, time.Unix(0, lastFault.Load()))
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer ccancel()
	if err := rep.verify(cctx, c, dsn, bucketPrefix, devs); err != nil {
		return rep, err
	}
	if !c.Keep {
		removeBuckets(cctx, c, bucketPrefix)
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return rep, fmt.Errorf("fleet: deadline of %v reached before every outbox drained", c.Deadline)
	}
	return rep, nil
}

// redactDSN hides a password in a database URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}

// loadCloudKey reads the cloud's ack-signing public key from the database.
func loadCloudKey(ctx context.Context, dsn string) (ed25519.PublicKey, error) {
	d, err := db.Open(ctx, dsn, nil)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	keys, err := identity.LoadKeys(ctx, d)
	if err != nil {
		return nil, err
	}
	return keys.Signer.Public().(ed25519.PublicKey), nil
}
