package fleet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/identity"
	"github.com/canopy-forest/canopy/cloud/rollout"
	"github.com/canopy-forest/canopy/sync/wire"
)

// RolloutConfig is one rollout run: simulated devices (and a real
// canopy-agent) behind one canopy-cloud serve, a model rolled out to them
// with canopy-cloud rollout create.
type RolloutConfig struct {
	Devices  int    // simulated devices, each with its outbox, publisher and desired-state Manager
	CloudBin string // canopy-cloud
	// AgentBin, when set, adds one real canopy-agent (folder source,
	// classical segmenter until a model comes), AgentLib its ONNX Runtime
	// library ("" = its own search) and AgentMaxRate its desired.max_rate.
	AgentBin, AgentLib string
	AgentMaxRate       int64
	// Broker and DatabaseURL name an external broker (anonymous, such as
	// the test suite's Mosquitto) and a PostgreSQL server (the run makes a
	// database there). Broker "": canopy-cloud serve's embedded broker and
	// SQLite, every device with a login of its own.
	Broker, DatabaseURL string
	// Model is the model file rolled out.
	Model string
	// Waves and Canary of the rollout (0: 2 and 0.5).
	Waves  int
	Canary float64
	// Faults: one simulated device of the last wave is offline during the
	// rollout and comes back after it; the real agent is SIGKILLed in the
	// middle of its download and started again; then a corrupt model (the
	// first half of Model) is rolled out to everyone and must halt after
	// its first wave.
	Faults bool
	Dir    string
	// Deadline bounds the whole run (0: 3 minutes).
	Deadline time.Duration
	Log      func(format string, a ...any)
}

// rolloutRun is the state of one RunRollout.
type rolloutRun struct {
	c                              RolloutConfig
	logf                           func(string, ...any)
	root                           string
	dsn                            string
	dbArgs                         []string // --data or --database-url for the canopy-cloud commands
	http                           string
	svc                            *rollout.Service
	devs                           []*device
	cancel                         map[string]context.CancelFunc
	wg                             sync.WaitGroup
	agent                          *proc
	agentID, agentBroker, cloudKey string
	pass                           string // every device's password on the embedded broker
}

// RunRollout runs a rollout of c.Model to a fleet and reports how it went;
// with c.Faults, the faults of issue 23 happen on the way. It returns an
// error when the cloud or a device does not do what it must.
func RunRollout(ctx context.Context, c RolloutConfig) (RolloutReport, error) {
	if c.Waves == 0 {
		c.Waves = 2
	}
	if c.Canary == 0 {
		c.Canary = 0.5
	}
	if c.Deadline == 0 {
		c.Deadline = 3 * time.Minute
	}
	logf := c.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if c.Devices < 1 || c.CloudBin == "" || c.Model == "" || c.Dir == "" || (c.Broker != "") != (c.DatabaseURL != "") {
		return RolloutReport{}, errors.New("rollout run: devices, the canopy-cloud binary, a model, a folder, and a database with an external broker are needed")
	}
	ctx, cancel := context.WithTimeout(ctx, c.Deadline)
	defer cancel()
	run := strings.ToLower(strings.ReplaceAll(time.Now().UTC().Format("0102-150405.000"), ".", ""))
	r := &rolloutRun{c: c, logf: logf, root: "ro-" + run, cancel: map[string]context.CancelFunc{}}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return RolloutReport{}, err
	}
	defer r.stopDevices()
	rep, err := r.run(ctx)
	if ctx.Err() != nil && err == nil {
		err = fmt.Errorf("rollout run: deadline of %v", c.Deadline)
	}
	return rep, err
}

func (r *rolloutRun) run(ctx context.Context) (RolloutReport, error) {
	c := r.c
	rep := RolloutReport{}
	// The cloud: one receiver, on the external broker and PostgreSQL, or
	// on its embedded broker and SQLite.
	port, err := freePort()
	if err != nil {
		return rep, err
	}
	r.http = "127.0.0.1:" + strconv.Itoa(port)
	data := filepath.Join(c.Dir, "cloud")
	args := []string{c.CloudBin, "serve", "--data", data, "--http", r.http, "--topic-root", r.root, "--workers", "0",
		"--compat-topic", "", "--auth", "off", "--log-level", "info"}
	broker := c.Broker
	if c.Broker != "" {
		dsn, drop, err := createDatabase(ctx, c.DatabaseURL, "rollout_"+strings.ReplaceAll(strings.TrimPrefix(r.root, "ro-"), "-", "_"))
		if err != nil {
			return rep, err
		}
		defer drop()
		r.dsn = dsn
		args = append(args, "--broker", c.Broker, "--database-url", dsn)
		r.dbArgs = []string{"--database-url", dsn}
	} else {
		mport, err := freePort()
		if err != nil {
			return rep, err
		}
		broker = fmt.Sprintf("tcp://127.0.0.1:%d", mport)
		args = append(args, "--mqtt-listen", broker[len("tcp://"):])
		r.dsn = filepath.Join(data, "canopy.db")
		r.dbArgs = []string{"--data", data}
	}
	r.agentBroker = broker
	cloud := &receiver{proc: proc{name: "canopy-cloud", args: args, log: filepath.Join(c.Dir, "cloud.log")}, http: r.http}
	if err := cloud.start(); err != nil {
		return rep, err
	}
	defer cloud.kill(syscall.SIGTERM)
	if err := cloud.waitReady(ctx, 60*time.Second); err != nil {
		return rep, err
	}
	d, err := db.Open(ctx, r.dsn, nil)
	if err != nil {
		return rep, err
	}
	defer d.Close()
	keys, err := identity.LoadKeys(ctx, d)
	if err != nil {
		return rep, err
	}
	cloudKey := keys.Signer.Public().(ed25519.PublicKey)
	r.cloudKey = wire.FormatCloudKey(cloudKey)
	r.svc = &rollout.Service{DB: d, Key: keys.Signer}
	r.logf("cloud on %s (broker %s), topic root %s", r.http, broker, r.root)

	// The devices, each with a login on the embedded broker.
	ids := make([]string, c.Devices)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-d%03d", r.root, i)
	}
	if c.AgentBin != "" {
		r.agentID = r.root + "-agent"
	}
	if c.Broker == "" {
		r.pass = identity.NewPassword()
		hash, err := identity.HashPassword(r.pass)
		if err != nil {
			return rep, err
		}
		for _, id := range append(slices.Clone(ids), r.agentID) {
			if id == "" {
				continue
			}
			if err := d.AddCredential(ctx, db.Credential{Username: id, Role: db.RoleDevice, PasswordHash: hash}); err != nil {
				return rep, err
			}
		}
	}
	devLog := slog.New(slog.DiscardHandler)
	if err := os.MkdirAll(filepath.Join(c.Dir, "devices"), 0o755); err != nil {
		return rep, err
	}
	for _, id := range ids {
		s := devSpec{Broker: broker, Root: r.root, Dir: filepath.Join(c.Dir, "devices"), CloudKey: cloudKey,
			AckTimeout: 10 * time.Second, StatusInterval: 10 * time.Second}
		if c.Broker == "" {
			s.Password = r.pass
		}
		dev, err := newDevice(id, s, 0, devLog)
		if err != nil {
			return rep, err
		}
		defer dev.close()
		r.devs = append(r.devs, dev)
		r.start(ctx, dev)
	}
	if c.Broker != "" {
		defer r.clearRetained(broker, append(slices.Clone(ids), r.agentID))
	}
	if r.agentID != "" {
		if err := r.startAgent(); err != nil {
			return rep, err
		}
		defer func() { r.agent.kill(syscall.SIGTERM) }()
	}
	all := slices.Clone(ids)
	if r.agentID != "" {
		all = append([]string{r.agentID}, all...) // the real agent in the canary wave
	}
	rep.Devices = len(all)
	if err := r.waitReported(ctx, all); err != nil {
		return rep, err
	}
	r.logf("%d devices report", len(all))
	if r.agentID != "" {
		rep.AgentRSSBefore = peakRSS(r.agent)
	}

	// The rollout. With faults, the last device is away until the others
	// applied the model.
	var offline *device
	if c.Faults {
		offline = r.devs[len(r.devs)-1]
		rep.Offline = offline.id
		r.stop(offline)
		r.logf("%s offline", offline.id)
	}
	fi, err := os.Stat(c.Model)
	if err != nil {
		return rep, err
	}
	rep.ModelBytes = fi.Size()
	start := time.Now()
	st, err := r.create(ctx, c.Model, all, 0.2)
	if err != nil {
		return rep, err
	}
	rep.Rollout = st.ID
	rep.Waves = perWave(st)
	r.logf("rollout %s of %s (%d bytes): waves %v", st.ID, filepath.Base(c.Model), rep.ModelBytes, rep.Waves)
	if c.Faults && r.agentID != "" {
		rep.Killed = r.agentID
		if rep.KilledAt, err = r.killMidDownload(ctx); err != nil {
			return rep, err
		}
	}
	var sampled chan int64
	stopSampling := make(chan struct{})
	if r.agentID != "" {
		sampled = make(chan int64, 1)
		go func() { sampled <- r.sampleFetchRSS(ctx, stopSampling) }()
	}
	online := func(t db.RolloutTarget) bool { return offline == nil || t.Device != offline.id }
	if st, err = r.waitRollout(ctx, st.ID, func(st rollout.Status) bool {
		return countIf(st, online, db.TargetApplied) == rep.Devices-boolInt(offline != nil)
	}); err != nil {
		return rep, err
	}
	rep.Reached = time.Since(start)
	close(stopSampling)
	if sampled != nil {
		rep.AgentRSSFetch = <-sampled
	}
	r.logf("t=%4.1fs every online device applied the model", rep.Reached.Seconds())
	if offline != nil {
		r.start(ctx, offline)
		r.logf("%s back", offline.id)
	}
	if st, err = r.waitRollout(ctx, st.ID, func(st rollout.Status) bool { return st.State == db.RolloutDone }); err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	for _, t := range st.Targets {
		rep.ModelBytesSent += t.BytesSent
		if t.Device == rep.Killed {
			rep.Resent = t.BytesSent - rep.ModelBytes
		}
		if offline != nil && t.Device == offline.id {
			rep.Converged = t.State == db.TargetApplied && t.Reported != nil && t.Reported.ModelSHA256 == st.ModelSHA256
		}
	}
	rep.FrameBytes = r.metric(ctx, "canopy_rollout_chunk_bytes_sent_total")
	if r.agentID != "" {
		rep.AgentRSSAfter = peakRSS(r.agent)
	}
	r.logf("t=%4.1fs rollout done: %d model bytes sent for %d devices", rep.Elapsed.Seconds(), rep.ModelBytesSent, rep.Devices)
	if !c.Faults {
		return rep, nil
	}

	// A corrupt model: its first wave rolls back, the rollout halts.
	corrupt := filepath.Join(c.Dir, "corrupt.onnx")
	b, err := os.ReadFile(c.Model)
	if err != nil {
		return rep, err
	}
	if err := os.WriteFile(corrupt, b[:len(b)/2], 0o644); err != nil {
		return rep, err
	}
	good := st.ModelSHA256
	bad, err := r.create(ctx, corrupt, all, 0.2)
	if err != nil {
		return rep, err
	}
	rep.CorruptRollout = bad.ID
	if bad, err = r.waitRollout(ctx, bad.ID, func(st rollout.Status) bool { return st.State != db.RolloutRunning }); err != nil {
		return rep, err
	}
	rep.Halted, rep.HaltReason = bad.State == db.RolloutHalted, bad.Reason
	for _, t := range bad.Targets {
		ok := t.Reported != nil && t.Reported.ModelSHA256 == good
		if t.Wave == 1 {
			rep.CorruptWave1++
			if ok && t.State == db.TargetFailed && t.Reported.FailedVersion > 0 {
				rep.RolledBack++
			}
		} else {
			rep.CorruptOtherWave++
			if ok && t.State == db.TargetPending {
				rep.Untouched++
			}
		}
	}
	r.logf("corrupt rollout %s: %s (%s); %d of %d of its first wave rolled back", bad.ID, bad.State, bad.Reason, rep.RolledBack, rep.CorruptWave1)
	if r.agentID != "" {
		var v struct {
			Reported db.Reported `json:"reported"`
		}
		if err := r.getJSON(ctx, "/v1/devices/"+r.agentID, &v); err != nil {
			return rep, err
		}
		rep.AgentModel, rep.AgentLastError = v.Reported.ModelSHA256, v.Reported.LastError
	}
	return rep, nil
}

// start runs dev until stop (or the end of the run).
func (r *rolloutRun) start(ctx context.Context, dev *device) {
	dctx, cancel := context.WithCancel(ctx)
	r.cancel[dev.id] = cancel
	r.wg.Go(func() { dev.run(dctx) })
}

// stop takes dev off line (its publisher publishes its offline status).
func (r *rolloutRun) stop(dev *device) {
	r.cancel[dev.id]()
	delete(r.cancel, dev.id)
}

func (r *rolloutRun) stopDevices() {
	for _, c := range r.cancel {
		c()
	}
	r.wg.Wait()
}

// create runs canopy-cloud rollout create.
func (r *rolloutRun) create(ctx context.Context, model string, devices []string, halt float64) (rollout.Status, error) {
	args := append([]string{"rollout", "create", "--model", model, "--devices", strings.Join(devices, ","),
		"--waves", strconv.Itoa(r.c.Waves), "--canary", fmt.Sprint(r.c.Canary), "--halt-threshold", fmt.Sprint(halt),
		"--wave-timeout", "2m"}, r.dbArgs...)
	cmd := exec.CommandContext(ctx, r.c.CloudBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return rollout.Status{}, fmt.Errorf("canopy-cloud rollout create: %v: %s", err, stderr.String())
	}
	var st rollout.Status
	if err := json.Unmarshal(out, &st); err != nil || st.ID == "" {
		return st, fmt.Errorf("canopy-cloud rollout create printed %q: %v", out, err)
	}
	return st, nil
}

// waitRollout waits until the status of rollout id satisfies ok.
func (r *rolloutRun) waitRollout(ctx context.Context, id string, ok func(rollout.Status) bool) (rollout.Status, error) {
	last := time.Now()
	for {
		st, err := r.svc.Status(ctx, id)
		if err == nil && ok(st) {
			return st, nil
		}
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			r.logf("rollout %s: %s, wave %d, %v", id, st.State, st.Wave, st.Counts)
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("rollout %s: %s, wave %d, devices %v: %w", id, st.State, st.Wave, st.Counts, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitReported waits until every device has reported its desired state.
func (r *rolloutRun) waitReported(ctx context.Context, ids []string) error {
	for {
		var list struct {
			Devices []struct {
				ID       string      `json:"id"`
				Reported db.Reported `json:"reported"`
			} `json:"devices"`
		}
		if err := r.getJSON(ctx, "/v1/devices", &list); err != nil {
			return err
		}
		n := 0
		for _, d := range list.Devices {
			if slices.Contains(ids, d.ID) && d.Reported.State != "" {
				n++
			}
		}
		if n == len(ids) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d devices reported: %w", n, len(ids), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *rolloutRun) getJSON(ctx context.Context, path string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.http+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// metric reads one counter of the cloud's /metrics.
func (r *rolloutRun) metric(ctx context.Context, name string) int64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.http+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f)
		}
	}
	return 0
}

// clearRetained removes the run's retained desired documents and
// statuses from a shared broker.
func (r *rolloutRun) clearRetained(broker string, ids []string) {
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(r.root + "-cleanup"))
	if tok := cl.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		return
	}
	defer cl.Disconnect(100)
	t := wire.Topics{Root: r.root}
	for _, id := range ids {
		if id == "" {
			continue
		}
		cl.Publish(t.Desired(id), 1, true, []byte{}).WaitTimeout(5 * time.Second)
		cl.Publish(t.Status(id), 1, true, []byte{}).WaitTimeout(5 * time.Second)
	}
}

func perWave(st rollout.Status) []int {
	var out []int
	for _, t := range st.Targets {
		for len(out) < t.Wave {
			out = append(out, 0)
		}
		out[t.Wave-1]++
	}
	return out
}

func countIf(st rollout.Status, keep func(db.RolloutTarget) bool, state string) int {
	n := 0
	for _, t := range st.Targets {
		if keep(t) && t.State == state {
			n++
		}
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
