package fleet

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
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

	// The broker: the harness's own Mosquitto, one given, or the embedded
	// broker of the (one) receiver.
	broker := c.Broker
	var mq *mosquitto
	if c.Mosquitto != "" {
		if mq, err = startMosquitto(ctx, c.Mosquitto, filepath.Join(c.Dir, "broker")); err != nil {
			return Report{}, err
		}
		defer mq.kill(syscall.SIGTERM)
		broker = mq.url()
	}
	var password string
	if c.Embedded {
		port, err := freePort()
		if err != nil {
			return Report{}, err
		}
		broker = fmt.Sprintf("tcp://127.0.0.1:%d", port)
		if password, err = addDeviceCredentials(ctx, dsn, root, c.Devices); err != nil {
			return Report{}, err
		}
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
	rep := Report{Devices: c.Devices, Items: c.Items, Receivers: c.Receivers, ItemBytes: c.ItemBytes, Broker: c.brokerKind()}
	one := func(pid func() int) func() []int { return func() []int { return []int{pid()} } }
	meters := []*usageMeter{{pids: one(rs.rs[0].pid), idleFor: c.IdleFor}}
	if mq != nil {
		meters = append(meters, &usageMeter{pids: one(mq.pid), idleFor: c.IdleFor})
	}
	each := func(f func(m *usageMeter) *procSample) {
		for _, m := range meters {
			m.sample(f(m))
		}
	}
	each(func(m *usageMeter) *procSample { return &m.start })

	// The devices, connected and idle.
	if err := os.MkdirAll(filepath.Join(c.Dir, "devices"), 0o755); err != nil {
		return Report{}, err
	}
	devs, err := startGroup(ctx, c, devSpec{
		First: 0, Count: c.Devices, Broker: broker, Root: root, Dir: filepath.Join(c.Dir, "devices"),
		CloudKey: cloudKey, Password: password, Items: c.Items, ItemBytes: c.ItemBytes, CutDevices: c.CutDevices,
		PutOver: c.PutOver, AckTimeout: c.AckTimeout, StatusInterval: c.StatusInterval,
	})
	if err != nil {
		return Report{}, err
	}
	defer devs.close()
	devMeter := &usageMeter{pids: devs.pids, idleFor: c.IdleFor}
	meters = append(meters, devMeter)
	t0 := time.Now()
	for n := 0; ; {
		st := devs.poll()
		if st.Connected == c.Devices {
			rep.ConnectTime = time.Since(t0)
			logf("t=%4.1fs all %d devices connected", rep.ConnectTime.Seconds(), c.Devices)
			break
		}
		if time.Since(t0) > time.Duration(n)*10*time.Second {
			logf("t=%4.1fs %d of %d devices connected", time.Since(t0).Seconds(), st.Connected, c.Devices)
			n++
		}
		if time.Since(t0) > min(c.Deadline/4, 5*time.Minute) {
			logf("t=%4.1fs only %d of %d devices connected: going on", time.Since(t0).Seconds(), st.Connected, c.Devices)
			break
		}
		select {
		case <-ctx.Done():
			return rep, fmt.Errorf("fleet: devices connecting: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	each(func(m *usageMeter) *procSample { return &m.idle0 })
	if c.IdleFor > 0 {
		logf("idle for %v", c.IdleFor)
		select {
		case <-ctx.Done():
		case <-time.After(c.IdleFor):
		}
	}
	each(func(m *usageMeter) *procSample { return &m.idle1 })
	busy0, total0 := machineCPU()

	start := time.Now()
	var lastFault atomic.Int64 // Unix nanoseconds
	fault := func() { lastFault.Store(time.Now().UnixNano()) }

	// Puts: each device spreads its items over PutOver.
	devs.startPuts(start)

	// Faults, until FaultsFor after the last put.
	faultCtx, stopFaults := context.WithCancel(ctx)
	var faultWG sync.WaitGroup
	putsDone := make(chan struct{})
	var putErr error
	go func() {
		putErr = <-devs.putsDone()
		if putErr == nil {
			for range devs.putsDone() {
			}
		}
		close(putsDone)
	}()
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

	// Wait for the puts and the faults, then for every outbox to drain;
	// cuts happen on the proxies: note when they do.
	seenCuts := 0
	noteCuts := func(st groupStatus) {
		if st.Cuts > seenCuts {
			seenCuts = st.Cuts
			fault()
		}
		rep.Cuts = st.Cuts
	}
wait:
	for {
		select {
		case <-putsDone:
			break wait
		case <-time.After(200 * time.Millisecond):
			noteCuts(devs.poll())
		}
	}
	if putErr != nil {
		stopFaults()
		faultWG.Wait()
		return rep, fmt.Errorf("fleet: put: %w", putErr)
	}
	logf("t=%4.1fs all %d items put", time.Since(start).Seconds(), c.Devices*c.Items)
	for faultCtx.Err() == nil {
		select {
		case <-faultCtx.Done():
		case <-time.After(200 * time.Millisecond):
			noteCuts(devs.poll())
		}
	}
	faultWG.Wait()
	logf("t=%4.1fs faults over", time.Since(start).Seconds())
	for {
		st := devs.poll()
		noteCuts(st)
		if st.Drained == c.Devices {
			logf("t=%4.1fs every outbox drained", time.Since(start).Seconds())
			break
		}
		select {
		case <-ctx.Done():
			logf("deadline: %d of %d outboxes drained", st.Drained, c.Devices)
		case <-time.After(200 * time.Millisecond):
			continue
		}
		break
	}
	rep.Elapsed = time.Since(start)
	each(func(m *usageMeter) *procSample { return &m.end })
	if busy1, total1 := machineCPU(); total1 > total0 {
		rep.MachineBusy = float64(busy1-busy0) / float64(total1-total0)
	}
	results := devs.stop()
	rs.stop()
	if rep.Kills == 0 {
		rep.Receiver = meters[0].usage(c.Devices, c.Devices*c.Items)
		if mq != nil && rep.BrokerRestarts == 0 {
			u := meters[1].usage(c.Devices, c.Devices*c.Items)
			rep.OwnBroker = &u
		}
	}
	rep.DevicesCPU = devMeter.usage(c.Devices, c.Devices*c.Items).BusyCPUSeconds

	// What the devices say, then what the cloud has.
	rep.collect(results, time.Unix(0, lastFault.Load()))
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer ccancel()
	if err := rep.verify(cctx, c, dsn, bucketPrefix); err != nil {
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

// addDeviceCredentials registers the identities of the run's devices in
// its database, for the embedded broker, and returns their password. They
// share one password and so one hash: the broker's check of a password
// (PBKDF2-SHA512, 20,000 rounds, some 30 ms of CPU) is then paid once, not
// once for each device's first connection; docs/deploy.md gives that cost.
func addDeviceCredentials(ctx context.Context, dsn, root string, n int) (string, error) {
	d, err := db.Open(ctx, dsn, nil)
	if err != nil {
		return "", err
	}
	defer d.Close()
	pw := identity.NewPassword()
	hash, err := identity.HashPassword(pw)
	if err != nil {
		return "", err
	}
	for i := range n {
		if err := d.AddCredential(ctx, db.Credential{Username: deviceID(root, i), Role: db.RoleDevice, PasswordHash: hash}); err != nil {
			return "", fmt.Errorf("fleet: %w", err)
		}
	}
	return pw, nil
}
