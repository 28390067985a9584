package desired

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canopy-forest/canopy/sync/publish"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Defaults of Options.
const (
	DefaultHealthWindow = 2 * time.Minute
	DefaultFetchWindow  = 8
	DefaultFetchTimeout = 15 * time.Second
	// maxTrialStarts: the agent may start this many times during one
	// trial (once for the trial, once more after a power cut); one more
	// start rolls the trial back.
	maxTrialStarts = 2
)

// Options configure a Manager.
type Options struct {
	Device   string
	Dir      string            // state.json, models/ and staging/ (created)
	CloudKey ed25519.PublicKey // the cloud's key (sync.cloud_key); nil: every document is refused
	Topics   wire.Topics
	// Validate checks a document's config overrides (nil: none allowed
	// but an empty object).
	Validate func(config json.RawMessage) error
	// Check checks settings before they are tried: the config validates,
	// the model loads, runs on a frame and gives a sane mask. nil: the
	// model file's structure only (CheckONNXFile).
	Check func(ctx context.Context, s Settings) error
	// Restart asks the host to run with Current now (a trial begins, or
	// was rolled back). nil: nothing to restart.
	Restart func()
	// Healthy reports whether the agent, since its last restart, has
	// reached the cloud and captures (nil: always).
	Healthy func() error
	// HealthWindow bounds a trial (0: DefaultHealthWindow).
	HealthWindow time.Duration
	// FetchWindow is the most chunks asked for and not yet here (0:
	// DefaultFetchWindow); FetchTimeout how long a chunk asked for may take
	// before it is asked again (0: DefaultFetchTimeout).
	FetchWindow  int
	FetchTimeout time.Duration
	// MaxRate caps the chunk bytes asked for a second (0: unlimited).
	MaxRate int64
	Log     *slog.Logger
}

// Manager takes the device's desired documents and artifacts. Create it
// with Open; it implements publish.Downlink.
type Manager struct {
	o                     Options
	log                   *slog.Logger
	statePath             string
	models, staging       string
	desiredT, artifactT   string
	fetchT                string
	docs, links, trialEnd chan struct{}

	mu         sync.Mutex
	st         state
	doc        []byte // the latest desired message, not yet taken
	link       publish.Link
	linkGen    int    // counts the links: a new one per connection
	running    string // the SHA-256 of the model the host runs (SetRunning)
	runningSet bool
	checking   int64 // version being checked
	trialSince time.Time

	chunks chan wire.ArtifactChunk
	report atomic.Pointer[wire.Reported]
	// The fetch's progress for the report: bytes staged and the model's
	// size (0: no fetch), written by Run's goroutine (noteFetch).
	staged, fetchSize atomic.Int64

	// Owned by Run's goroutine.
	fe       *fetch
	deferred []byte // a document that came during a trial
	wake     <-chan time.Time
}

var _ publish.Downlink = (*Manager)(nil)

// Open reads the state under o.Dir. A trial that was running when the
// agent stopped goes on (its health window starts again), or is rolled
// back when the agent has started too often during it.
func Open(o Options) (*Manager, error) {
	if err := wire.ValidDevice(o.Device); err != nil {
		return nil, fmt.Errorf("desired: %w", err)
	}
	if o.HealthWindow <= 0 {
		o.HealthWindow = DefaultHealthWindow
	}
	if o.FetchWindow <= 0 {
		o.FetchWindow = DefaultFetchWindow
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Validate == nil {
		o.Validate = func(c json.RawMessage) error {
			if len(c) > 0 && strings.TrimSpace(string(c)) != "{}" {
				return errors.New("this device takes no config overrides")
			}
			return nil
		}
	}
	if o.Check == nil {
		o.Check = func(_ context.Context, s Settings) error {
			if s.ModelPath == "" {
				return nil
			}
			return CheckONNXFile(s.ModelPath)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("desired: %w", err)
	}
	m := &Manager{
		o: o, log: o.Log.With("component", "desired"),
		statePath: filepath.Join(o.Dir, "state.json"),
		models:    filepath.Join(o.Dir, "models"), staging: filepath.Join(o.Dir, "staging"),
		desiredT: o.Topics.Desired(o.Device), artifactT: o.Topics.Artifact(o.Device), fetchT: o.Topics.Fetch(o.Device),
		docs: make(chan struct{}, 1), links: make(chan struct{}, 1), trialEnd: make(chan struct{}, 1),
		chunks: make(chan wire.ArtifactChunk, o.FetchWindow+wire.MaxFetchChunks),
	}
	st, err := loadState(m.statePath)
	if err != nil {
		return nil, fmt.Errorf("desired: %w", err)
	}
	m.st = st
	if st.Trial != nil {
		m.st.TrialStarts++
		if m.st.TrialStarts > maxTrialStarts {
			m.endTrial(fmt.Errorf("the agent started %d times during the trial", m.st.TrialStarts))
		} else {
			m.trialSince = time.Now()
			if err := m.st.save(m.statePath); err != nil {
				return nil, fmt.Errorf("desired: %w", err)
			}
			m.log.Info("trial goes on after a restart", "version", st.Trial.Version, "starts", m.st.TrialStarts)
		}
	}
	m.updateReport()
	return m, nil
}

// Current returns the settings to run now: the trial's during a trial,
// else the applied ones.
func (m *Manager) Current() Settings {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Trial != nil {
		return *m.st.Trial
	}
	return m.st.Applied
}

// InTrial reports whether Current is a trial's settings.
func (m *Manager) InTrial() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Trial != nil
}

// SetRunning tells the Manager the SHA-256 of the model the host runs now
// ("" for none), for the report.
func (m *Manager) SetRunning(sha256 string) {
	m.mu.Lock()
	m.running, m.runningSet = sha256, true
	m.mu.Unlock()
	m.updateReport()
}

// TrialFailed tells the Manager that the host could not run the trial's
// settings (err says why). It rolls the trial back at once and reports
// whether there was one: the host then runs Current again.
func (m *Manager) TrialFailed(err error) bool {
	m.mu.Lock()
	trial := m.st.Trial != nil
	m.mu.Unlock()
	if !trial {
		return false
	}
	m.endTrial(err)
	select {
	case m.trialEnd <- struct{}{}:
	default:
	}
	return true
}

// Topics are the device's desired and artifact topics (publish.Downlink).
func (m *Manager) Topics() []string { return []string{m.desiredT, m.artifactT} }

// Message takes a message of the downlink (publish.Downlink). It never
// blocks: only the newest desired document is kept, and a chunk that
// finds no room is dropped (it is asked for again).
func (m *Manager) Message(topic string, payload []byte) {
	switch topic {
	case m.desiredT:
		if len(payload) == 0 {
			return // a retained document cleared
		}
		m.mu.Lock()
		m.doc = append([]byte(nil), payload...)
		m.mu.Unlock()
		signal(m.docs)
	case m.artifactT:
		c, err := wire.ParseArtifactChunk(payload)
		if err != nil {
			m.log.Warn("artifact chunk ignored", "err", err)
			return
		}
		c.Data = append([]byte(nil), c.Data...)
		select {
		case m.chunks <- c:
		default:
			m.log.Debug("artifact chunk dropped: queue full", "chunk", c.Chunk)
		}
	}
}

// Connected takes the link of a new connection (publish.Downlink).
func (m *Manager) Connected(l publish.Link) {
	m.mu.Lock()
	m.link = l
	m.linkGen++
	m.mu.Unlock()
	signal(m.links)
}

// Report is what the device runs, for its status (publish.Downlink).
func (m *Manager) Report() *wire.Reported {
	r := *m.report.Load()
	return &r
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run handles documents, chunks and trials until ctx ends; it returns nil
// then, with the staging kept for a later resume.
func (m *Manager) Run(ctx context.Context) error {
	if m.o.CloudKey == nil {
		m.log.Warn("no sync.cloud_key: the cloud's desired documents will be refused (they cannot be verified)")
	}
	m.mu.Lock()
	pending := m.st.Pending
	m.mu.Unlock()
	if pending != nil {
		m.startFetch(ctx, *pending)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer func() {
		if m.fe != nil {
			m.fe.close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.docs:
			m.mu.Lock()
			doc := m.doc
			m.doc = nil
			m.mu.Unlock()
			if doc != nil {
				m.onDesired(ctx, doc)
			}
		case c := <-m.chunks:
			m.onChunk(ctx, c)
		case <-m.links:
			m.mu.Lock()
			gen := m.linkGen
			m.mu.Unlock()
			if m.fe != nil && m.fe.gen != gen {
				clear(m.fe.asked) // what was asked on an old connection is asked again
			}
			m.request(ctx)
			m.changed()
		case <-m.trialEnd:
			m.afterTrial(ctx)
		case <-m.wake:
			m.wake = nil
			m.request(ctx)
		case now := <-tick.C:
			m.tick(ctx, now)
		}
	}
}

// onDesired takes one desired message.
func (m *Manager) onDesired(ctx context.Context, payload []byte) {
	d, err := wire.OpenDesired(payload, m.o.CloudKey, m.o.Device)
	if err != nil {
		if m.o.CloudKey == nil && errors.Is(err, wire.ErrDesiredUnsigned) {
			err = ErrNoCloudKey
		}
		m.refuse(fmt.Sprintf("desired document refused: %v", err), "version", d.Version, "err", err)
		return
	}
	m.mu.Lock()
	st := m.st
	seen := d.Version == st.Applied.Version || d.Version == st.FailedVersion ||
		st.Trial != nil && d.Version == st.Trial.Version || st.Pending != nil && d.Version == st.Pending.Version
	newest := st.newest()
	m.mu.Unlock()
	switch {
	case seen:
		m.log.Debug("desired document already handled", "version", d.Version)
		return
	case d.Version < newest:
		err := fmt.Errorf("%w: version %d is older than version %d, already seen", ErrReplay, d.Version, newest)
		m.refuse(fmt.Sprintf("desired document refused: %v", err), "version", d.Version, "err", err)
		return
	case st.Trial != nil:
		m.deferred = payload // after the trial
		return
	}
	m.log.Info("desired document", "version", d.Version, "rollout", d.Rollout, "model_sha256", modelSHA(d.Model), "config", len(d.Config) > 0)
	if err := m.o.Validate(d.Config); err != nil {
		m.fail(d.Version, wire.ReportRolledBack, fmt.Sprintf("version %d: config failed its check: %v", d.Version, err))
		return
	}
	if m.fe != nil && (d.Model == nil || d.Model.SHA256 != m.fe.ref.SHA256) {
		m.log.Info("fetch abandoned for a newer document", "model_sha256", m.fe.ref.SHA256, "version", d.Version)
		m.fe.remove()
		m.setFetch(nil)
	}
	s := m.settings(d)
	if s.same(st.Applied) {
		m.mu.Lock()
		m.st.Applied.Version, m.st.Pending, m.st.Outcome = d.Version, nil, wire.ReportApplied
		err := m.st.save(m.statePath)
		m.mu.Unlock()
		if err != nil {
			m.log.Error("save desired state", "err", err)
		}
		m.log.Info("desired version applied: nothing changes", "version", d.Version)
		m.changed()
		return
	}
	m.mu.Lock()
	m.st.Pending = &d
	err = m.st.save(m.statePath)
	m.mu.Unlock()
	if err != nil {
		m.log.Error("save desired state", "err", err)
	}
	m.startFetch(ctx, d)
}

// settings are what d asks to run.
func (m *Manager) settings(d wire.Desired) Settings {
	s := Settings{Version: d.Version, Config: d.Config, Model: d.Model}
	if d.Model != nil {
		s.ModelPath = m.modelPath(d.Model.SHA256)
	}
	return s
}

func (m *Manager) modelPath(sha string) string { return filepath.Join(m.models, sha+".onnx") }

func modelSHA(r *wire.ModelRef) string {
	if r == nil {
		return ""
	}
	return r.SHA256
}

// startFetch fetches d's model, or tries d at once when its model is on
// disk already (or it names none).
func (m *Manager) startFetch(ctx context.Context, d wire.Desired) {
	if d.Model == nil || fileExists(m.modelPath(d.Model.SHA256)) {
		m.try(ctx, d)
		return
	}
	if m.fe == nil {
		fe, err := openFetch(m.staging, *d.Model)
		if err != nil {
			m.fail(d.Version, wire.ReportRefused, fmt.Sprintf("version %d: %v", d.Version, err))
			return
		}
		m.setFetch(fe)
		m.log.Info("fetching model", "version", d.Version, "model_sha256", d.Model.SHA256, "size", d.Model.Size,
			"chunks", d.Model.Chunks(), "staged", fe.staged())
	}
	m.changed()
	m.request(ctx)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// request asks for missing chunks, up to the window and the rate limit.
func (m *Manager) request(ctx context.Context) {
	fe := m.fe
	m.mu.Lock()
	l, gen := m.link, m.linkGen
	m.mu.Unlock()
	if fe == nil || l == nil {
		return
	}
	for {
		room := m.o.FetchWindow - len(fe.asked)
		if room <= 0 {
			return
		}
		ids := fe.want(min(room, wire.MaxFetchChunks))
		if len(ids) == 0 {
			return
		}
		if m.o.MaxRate > 0 {
			now := time.Now()
			if now.Before(fe.nextAt) {
				if m.wake == nil {
					m.wake = time.After(fe.nextAt.Sub(now))
				}
				return
			}
			var n int64
			for _, i := range ids {
				n += int64(fe.ref.ChunkLen(i))
			}
			fe.nextAt = now.Add(time.Duration(float64(n) / float64(m.o.MaxRate) * float64(time.Second)))
		}
		b, err := wire.EncodeFetch(wire.FetchRequest{SHA256: fe.ref.SHA256, Chunks: ids})
		if err != nil {
			m.log.Error("encode fetch request", "err", err)
			return
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = l.Publish(pctx, m.fetchT, b)
		cancel()
		if err != nil {
			m.log.Warn("fetch request not sent; asked again on the next connection", "err", err)
			if !errors.Is(err, context.DeadlineExceeded) { // a slow broker: asked again on the next tick
				m.mu.Lock()
				if m.linkGen == gen {
					m.link = nil // lost: Connected brings the next one
				}
				m.mu.Unlock()
			}
			return
		}
		now := time.Now()
		for _, i := range ids {
			fe.asked[i] = now
		}
		fe.gen = gen
	}
}

// onChunk stages one chunk.
func (m *Manager) onChunk(ctx context.Context, c wire.ArtifactChunk) {
	fe := m.fe
	if fe == nil || c.SHA256 != fe.ref.SHA256 {
		m.log.Debug("chunk of a model not being fetched ignored", "model_sha256", c.SHA256, "chunk", c.Chunk)
		return
	}
	synced := fe.unsynced
	_, err := fe.put(c, m.o.FetchWindow)
	if errors.Is(err, errBadChunk) {
		m.log.Warn("artifact chunk ignored", "err", err)
		return
	}
	m.mu.Lock()
	d := m.st.Pending
	m.mu.Unlock()
	if d == nil {
		return
	}
	if err != nil {
		fe.remove()
		m.setFetch(nil)
		m.fail(d.Version, wire.ReportRefused, fmt.Sprintf("version %d: %v", d.Version, err))
		return
	}
	if fe.done() {
		m.finishFetch(ctx, *d)
		return
	}
	if fe.unsynced < synced { // synced just now: the progress is durable
		m.noteFetch()
		m.changed()
	}
	m.request(ctx)
}

// finishFetch checks and swaps in the complete model, then tries d.
func (m *Manager) finishFetch(ctx context.Context, d wire.Desired) {
	fe := m.fe
	m.setFetch(nil)
	err := fe.finish(m.modelPath(fe.ref.SHA256))
	m.log.Info("model fetched", "version", d.Version, "model_sha256", fe.ref.SHA256, "size", fe.ref.Size,
		"received_bytes", fe.received, "resumed_from_bytes", fe.resumed, "chunks_received_again", fe.duplicate, "ok", err == nil)
	if err != nil {
		m.fail(d.Version, wire.ReportRefused, fmt.Sprintf("version %d refused: %v", d.Version, err))
		return
	}
	m.try(ctx, d)
}

// try checks d's settings and, when they pass, starts their trial.
func (m *Manager) try(ctx context.Context, d wire.Desired) {
	s := m.settings(d)
	m.mu.Lock()
	m.checking = d.Version
	m.mu.Unlock()
	m.changed()
	err := m.o.Check(ctx, s)
	m.mu.Lock()
	m.checking = 0
	m.mu.Unlock()
	if ctx.Err() != nil {
		return // stopping: the document is checked again on the next start
	}
	if err != nil {
		m.fail(d.Version, wire.ReportRolledBack, fmt.Sprintf("version %d failed its check: %v; runs version %d", d.Version, err, m.Current().Version))
		return
	}
	m.mu.Lock()
	m.st.Trial, m.st.TrialStarts, m.st.Pending = &s, 1, nil
	m.trialSince = time.Now()
	err = m.st.save(m.statePath)
	m.mu.Unlock()
	if err != nil {
		m.log.Error("save desired state", "err", err)
	}
	m.log.Info("trying version", "version", d.Version, "model_sha256", s.ModelSHA256(), "health_window", m.o.HealthWindow)
	m.changed()
	if m.o.Restart != nil {
		m.o.Restart()
	}
}

// tick confirms or rolls back a trial and asks again for chunks that did
// not come.
func (m *Manager) tick(ctx context.Context, now time.Time) {
	m.mu.Lock()
	trial, since := m.st.Trial, m.trialSince
	m.mu.Unlock()
	if trial != nil {
		var err error
		if m.o.Healthy != nil {
			err = m.o.Healthy()
		}
		switch {
		case err == nil:
			m.confirm()
			m.afterTrial(ctx)
		case now.Sub(since) >= m.o.HealthWindow:
			m.endTrial(fmt.Errorf("not healthy within the %v health window: %v", m.o.HealthWindow, err))
			if m.o.Restart != nil {
				m.o.Restart()
			}
			m.afterTrial(ctx)
		}
		return
	}
	if m.deferred != nil {
		m.afterTrial(ctx)
	}
	if m.fe != nil {
		if n := m.fe.expire(now.Add(-m.o.FetchTimeout)); n > 0 {
			m.log.Info("chunks not received in time; asking again", "chunks", n, "staged", m.fe.staged(), "size", m.fe.ref.Size)
		}
		m.request(ctx)
	}
}

// confirm keeps the trial: it becomes the applied settings.
func (m *Manager) confirm() {
	m.mu.Lock()
	prev := m.st.Applied
	m.st.Previous, m.st.Applied = &prev, *m.st.Trial
	m.st.Trial, m.st.TrialStarts = nil, 0
	m.st.Outcome, m.st.LastError = wire.ReportApplied, ""
	v := m.st.Applied
	err := m.st.save(m.statePath)
	m.mu.Unlock()
	if err != nil {
		m.log.Error("save desired state", "err", err)
	}
	m.log.Info("desired version applied", "version", v.Version, "model_sha256", v.ModelSHA256(), "previous", prev.Version)
	m.cleanup()
	m.changed()
}

// endTrial rolls the trial back: the applied settings run again.
func (m *Manager) endTrial(why error) {
	m.mu.Lock()
	if m.st.Trial == nil {
		m.mu.Unlock()
		return
	}
	v := m.st.Trial.Version
	m.st.Trial, m.st.TrialStarts = nil, 0
	m.mu.Unlock()
	m.fail(v, wire.ReportRolledBack, fmt.Sprintf("version %d rolled back: %v; runs version %d", v, why, m.Current().Version))
}

// afterTrial takes the document that came during a trial.
func (m *Manager) afterTrial(ctx context.Context) {
	if p := m.deferred; p != nil {
		m.deferred = nil
		m.onDesired(ctx, p)
	}
}

// fail records that version v failed (outcome and why), logs and
// reports it.
func (m *Manager) fail(v int64, outcome, why string) {
	m.mu.Lock()
	m.st.Outcome, m.st.FailedVersion, m.st.LastError = outcome, v, why
	if m.st.Pending != nil && m.st.Pending.Version == v {
		m.st.Pending = nil
	}
	err := m.st.save(m.statePath)
	m.mu.Unlock()
	if err != nil {
		m.log.Error("save desired state", "err", err)
	}
	m.log.Warn("desired change not applied", "version", v, "outcome", outcome, "reason", why)
	m.cleanup()
	m.changed()
}

// refuse records a document refused before its version could be trusted
// or taken.
func (m *Manager) refuse(why string, args ...any) {
	m.mu.Lock()
	m.st.Outcome, m.st.LastError = wire.ReportRefused, why
	err := m.st.save(m.statePath)
	m.mu.Unlock()
	if err != nil {
		m.log.Error("save desired state", "err", err)
	}
	m.log.Warn("desired document refused", args...)
	m.changed()
}

// cleanup removes models that neither the applied, previous, trial nor
// pending settings name, and staging of other models.
func (m *Manager) cleanup() {
	m.mu.Lock()
	keep := map[string]bool{}
	for _, s := range []*Settings{&m.st.Applied, m.st.Previous, m.st.Trial} {
		if s != nil && s.Model != nil {
			keep[s.Model.SHA256] = true
		}
	}
	fetching := ""
	if m.st.Pending != nil && m.st.Pending.Model != nil {
		keep[m.st.Pending.Model.SHA256] = true
		fetching = m.st.Pending.Model.SHA256
	}
	m.mu.Unlock()
	for _, dir := range []string{m.models, m.staging} {
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			sha, _, _ := strings.Cut(e.Name(), ".")
			if keep[sha] && (dir == m.models || sha == fetching) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				m.log.Debug("removed", "file", e.Name())
			}
		}
	}
}

// setFetch makes fe the fetch (nil: none) and notes its progress; Run's
// goroutine only.
func (m *Manager) setFetch(fe *fetch) {
	m.fe = fe
	m.noteFetch()
}

func (m *Manager) noteFetch() {
	if m.fe == nil {
		m.staged.Store(0)
		m.fetchSize.Store(0)
		return
	}
	m.staged.Store(m.fe.staged())
	m.fetchSize.Store(m.fe.ref.Size)
}

// changed updates the report and asks for a status message.
func (m *Manager) changed() {
	m.updateReport()
	m.mu.Lock()
	l := m.link
	m.mu.Unlock()
	if l != nil {
		l.ReportChanged()
	}
}

func (m *Manager) updateReport() {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := &m.st
	r := wire.Reported{Version: st.Applied.Version, State: st.Outcome, FailedVersion: st.FailedVersion, LastError: st.LastError}
	if r.State == "" {
		r.State = wire.ReportApplied
	}
	r.ModelSHA256 = m.running
	if !m.runningSet {
		r.ModelSHA256 = st.Applied.ModelSHA256()
		if st.Trial != nil {
			r.ModelSHA256 = st.Trial.ModelSHA256()
		}
	}
	switch {
	case st.Trial != nil:
		r.State, r.Pending = wire.ReportTrial, st.Trial.Version
	case m.checking != 0:
		r.State, r.Pending = wire.ReportChecking, m.checking
	case m.fetchSize.Load() > 0 && st.Pending != nil:
		r.State, r.Pending, r.Fetched, r.FetchSize = wire.ReportDownloading, st.Pending.Version, m.staged.Load(), m.fetchSize.Load()
	}
	if len(r.LastError) > 2000 {
		r.LastError = r.LastError[:2000]
	}
	m.report.Store(&r)
}
