package desired

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
)

const testDevice = "pi-1"

var topics = wire.Topics{Root: "t"}

// fakeONNX is n bytes shaped like an ONNX model: an IR version and a
// graph field.
func fakeONNX(n int) []byte {
	body := make([]byte, n)
	_, _ = rand.Read(body)
	b := []byte{0x08, 0x07, 0x3a}
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, body...)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cloud is the other side: it signs documents and serves chunks the way
// cloud/rollout does, straight into the Manager.
type cloud struct {
	t         *testing.T
	key       ed25519.PrivateKey
	pub       ed25519.PublicKey
	m         atomic.Pointer[Manager]
	mu        sync.Mutex
	files     map[string][]byte // by SHA-256
	serveAs   map[string][]byte // bytes served instead of the file (a cloud that lies)
	cut       int               // serve only this many more chunks (-1: no limit)
	served    int64             // chunk bytes sent
	requests  int
	connected bool
}

func newCloud(t *testing.T) *cloud {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	return &cloud{t: t, key: key, pub: pub, files: map[string][]byte{}, serveAs: map[string][]byte{}, cut: -1, connected: true}
}

func (c *cloud) Publish(_ context.Context, topic string, payload []byte) error {
	r, err := wire.DecodeFetch(payload)
	if err != nil || topic != topics.Fetch(testDevice) {
		c.t.Errorf("fetch request on %s: %v", topic, err)
		return nil
	}
	c.mu.Lock()
	if !c.connected {
		c.mu.Unlock()
		return errors.New("connection lost")
	}
	c.requests++
	body := c.files[r.SHA256]
	if alt, ok := c.serveAs[r.SHA256]; ok {
		body = alt
	}
	var frames [][]byte
	for _, i := range r.Chunks {
		if c.cut == 0 {
			break
		}
		if c.cut > 0 {
			c.cut--
		}
		off := int64(i) * chunkSize
		end := min(off+chunkSize, int64(len(body)))
		f, err := wire.AppendArtifactChunk(nil, wire.ArtifactChunk{SHA256: r.SHA256, Chunk: i, Offset: off, Size: int64(len(body)), Data: body[off:end]})
		if err != nil {
			c.t.Error(err)
		}
		c.served += end - off
		frames = append(frames, f)
	}
	c.mu.Unlock()
	for _, f := range frames {
		c.m.Load().Message(topics.Artifact(testDevice), f)
	}
	return nil
}

func (c *cloud) ReportChanged() {}

const chunkSize = 16 << 10

// doc signs a document of version v for device with model body (nil: none).
func (c *cloud) doc(device string, v int64, body []byte, config string) []byte {
	d := wire.Desired{Device: device, Version: v, Issued: time.Now().UTC()}
	if body != nil {
		s := sha(body)
		c.mu.Lock()
		c.files[s] = body
		c.mu.Unlock()
		d.Model = &wire.ModelRef{SHA256: s, Size: int64(len(body)), ChunkSize: chunkSize, Name: "m.onnx"}
	}
	if config != "" {
		d.Config = json.RawMessage(config)
	}
	b, err := wire.SignDesired(c.key, d)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// agent is a Manager running until the end of the test (or stop).
type agent struct {
	m        *Manager
	healthy  atomic.Pointer[error]
	restarts atomic.Int64
	stop     func()
}

func startAgent(t *testing.T, c *cloud, dir string, edit func(*Options)) *agent {
	t.Helper()
	a := &agent{}
	o := Options{Device: testDevice, Dir: dir, CloudKey: c.pub, Topics: topics, HealthWindow: 2 * time.Second,
		FetchTimeout: time.Second, Restart: func() { a.restarts.Add(1) },
		Healthy: func() error {
			if p := a.healthy.Load(); p != nil {
				return *p
			}
			return nil
		},
		Validate: func(cfg json.RawMessage) error {
			if strings.Contains(string(cfg), "bad") {
				return errors.New("select.min_share 7 out of [0, 1]")
			}
			return nil
		},
	}
	if edit != nil {
		edit(&o)
	}
	m, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	c.m.Store(m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	m.Connected(c)
	stopped := false
	a.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(a.stop)
	return a
}

// wait waits until the report satisfies ok.
func (a *agent) wait(t *testing.T, what string, ok func(wire.Reported) bool) wire.Reported {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := *a.m.Report()
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: report stays %+v", what, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func applied(v int64) func(wire.Reported) bool {
	return func(r wire.Reported) bool { return r.Version == v && r.State == wire.ReportApplied }
}

func TestApplyModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, dir := newCloud(t), t.TempDir()
		a := startAgent(t, c, dir, nil)
		model := fakeONNX(300_000)
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 1, model, `{"select":{"min_share":0.2}}`))
		r := a.wait(t, "version 1 applied", applied(1))
		if r.ModelSHA256 != sha(model) || r.LastError != "" {
			t.Errorf("report %+v, want model %s and no error", r, sha(model))
		}
		cur := a.m.Current()
		if got, err := os.ReadFile(cur.ModelPath); err != nil || !bytes.Equal(got, model) {
			t.Fatalf("the applied model file differs from the model (%v)", err)
		}
		if string(cur.Config) != `{"select":{"min_share":0.2}}` || a.restarts.Load() != 1 {
			t.Errorf("current %+v after %d restarts", cur, a.restarts.Load())
		}
		if c.served != int64(len(model)) {
			t.Errorf("served %d bytes for a model of %d", c.served, len(model))
		}
		// The retained document again (a reconnect) changes nothing.
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 1, model, `{"select":{"min_share":0.2}}`))
		time.Sleep(100 * time.Millisecond)
		if r := *a.m.Report(); r.Version != 1 || r.State != wire.ReportApplied || a.restarts.Load() != 1 {
			t.Errorf("the same version again: %+v, %d restarts", r, a.restarts.Load())
		}
		// A second model: the first is kept as the previous one.
		model2 := fakeONNX(50_000)
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 2, model2, ""))
		a.wait(t, "version 2 applied", applied(2))
		files, _ := os.ReadDir(filepath.Join(dir, "models"))
		if len(files) != 2 {
			t.Errorf("models kept: %v, want the applied and the previous", files)
		}
		// The state survives a restart.
		a.stop()
		b := startAgent(t, c, dir, nil)
		if cur := b.m.Current(); cur.Version != 2 || cur.ModelSHA256() != sha(model2) {
			t.Errorf("after a restart: %+v", cur)
		}
	})
}

// TestRefused: each refused document of docs/reliability.md is logged,
// reported with why, and leaves the agent on what it ran.
func TestRefused(t *testing.T) {
	good := fakeONNX(40_000)
	for _, tc := range []struct {
		name      string
		doc       func(c *cloud) []byte
		edit      func(*Options)
		state     string
		wantError string
	}{
		{"unsigned", func(c *cloud) []byte {
			b := c.doc(testDevice, 5, good, "")
			var e map[string]any
			_ = json.Unmarshal(b, &e)
			delete(e, "sig")
			b, _ = json.Marshal(e)
			return b
		}, nil, wire.ReportRefused, "not signed"},
		{"wrongly signed", func(c *cloud) []byte {
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			saved := c.key
			c.key = other
			defer func() { c.key = saved }()
			return c.doc(testDevice, 5, good, "")
		}, nil, wire.ReportRefused, "signature does not verify"},
		{"for another device", func(c *cloud) []byte { return c.doc("pi-2", 5, good, "") }, nil, wire.ReportRefused, "another device"},
		{"replay of an older version", func(c *cloud) []byte { return c.doc(testDevice, 1, good, "") }, nil, wire.ReportRefused, "older than version 3"},
		{"artifact sha256 differs", func(c *cloud) []byte {
			b := c.doc(testDevice, 5, good, "")
			evil := bytes.Clone(good)
			evil[len(evil)-1] ^= 0xff
			c.serveAs[sha(good)] = evil
			return b
		}, nil, wire.ReportRefused, "sha256 differs"},
		{"config fails its check", func(c *cloud) []byte { return c.doc(testDevice, 5, nil, `{"select":{"min_share":"bad"}}`) }, nil, wire.ReportRolledBack, "config failed its check"},
		{"model fails its check", func(c *cloud) []byte { return c.doc(testDevice, 5, good[:len(good)/2], "") }, nil, wire.ReportRolledBack, "not an ONNX model"},
		{"no cloud key on the device", func(c *cloud) []byte { return c.doc(testDevice, 5, good, "") },
			func(o *Options) { o.CloudKey = nil }, wire.ReportRefused, "no sync.cloud_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, dir := newCloud(t), t.TempDir()
				base := fakeONNX(20_000)
				a := startAgent(t, c, dir, nil)
				a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 3, base, ""))
				a.wait(t, "version 3 applied", applied(3))
				a.stop()
				a = startAgent(t, c, dir, tc.edit)
				a.m.Message(topics.Desired(testDevice), tc.doc(c))
				r := a.wait(t, "refused", func(r wire.Reported) bool { return r.State == tc.state })
				if r.Version != 3 || r.ModelSHA256 != sha(base) || !strings.Contains(r.LastError, tc.wantError) {
					t.Errorf("report %+v: want version 3, model %.12s and an error about %q", r, sha(base), tc.wantError)
				}
				if cur := a.m.Current(); cur.Version != 3 || cur.ModelSHA256() != sha(base) {
					t.Errorf("runs %+v, want version 3", cur)
				}
			})
		})
	}
}

// TestRollBackOnHealth: a change after which the agent does not reach the
// cloud within the health window is rolled back by the agent itself, and
// the next version is taken afterwards.
func TestRollBackOnHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, dir := newCloud(t), t.TempDir()
		a := startAgent(t, c, dir, nil)
		base := fakeONNX(10_000)
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 1, base, ""))
		a.wait(t, "version 1 applied", applied(1))
		down := errors.New("not connected to the broker")
		a.healthy.Store(&down)
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 2, fakeONNX(10_000), `{"sync":{"broker":"tcp://nowhere:1883"}}`))
		a.wait(t, "trial", func(r wire.Reported) bool { return r.State == wire.ReportTrial && r.Pending == 2 })
		if cur := a.m.Current(); cur.Version != 2 {
			t.Errorf("during the trial Current is %+v, want version 2", cur)
		}
		// A newer document during the trial waits for its end.
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 3, base, `{"capture":{"fps":1}}`))
		r := a.wait(t, "rolled back", func(r wire.Reported) bool { return r.FailedVersion == 2 })
		if r.ModelSHA256 != sha(base) && r.State != wire.ReportTrial {
			t.Errorf("after the rollback: %+v", r)
		}
		if !strings.Contains(r.LastError, "not connected to the broker") || a.restarts.Load() < 3 {
			t.Errorf("rollback report %+v after %d restarts, want the reason and restarts for the trial and the rollback", r, a.restarts.Load())
		}
		a.healthy.Store(nil)
		a.wait(t, "version 3 after the trial", applied(3))
	})
}

// TestTrialRestarts: an agent that starts again and again during a trial
// (the new model crashes it) rolls the trial back.
func TestTrialRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, dir := newCloud(t), t.TempDir()
		a := startAgent(t, c, dir, nil)
		down := errors.New("capture stuck")
		a.healthy.Store(&down)
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 1, fakeONNX(5000), ""))
		a.wait(t, "trial", func(r wire.Reported) bool { return r.State == wire.ReportTrial })
		a.stop()
		for i := range 2 {
			m, err := Open(Options{Device: testDevice, Dir: dir, CloudKey: c.pub, Topics: topics})
			if err != nil {
				t.Fatal(err)
			}
			r := *m.Report()
			if want := i == 0; (r.State == wire.ReportTrial) != want {
				t.Errorf("start %d after the trial began: %+v, want trial %v", i+2, r, want)
			}
			if i == 1 && (r.State != wire.ReportRolledBack || r.FailedVersion != 1 || m.Current().Version != 0) {
				t.Errorf("third start: %+v, runs %+v; want version 1 rolled back", r, m.Current())
			}
		}
	})
}

// TestFetchResumes: a download cut off and taken up again by a new
// process asks only for what is missing.
func TestFetchResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, dir := newCloud(t), t.TempDir()
		model := fakeONNX(600_000) // 37 chunks
		c.cut = 20
		a := startAgent(t, c, dir, func(o *Options) { o.FetchWindow = 4 })
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 1, model, ""))
		a.wait(t, "downloading", func(r wire.Reported) bool { return r.State == wire.ReportDownloading && r.Fetched >= 16*chunkSize })
		time.Sleep(100 * time.Millisecond)
		a.stop() // killed mid-download, the link lost with it
		c.mu.Lock()
		c.cut = -1
		sentBefore := c.served
		c.mu.Unlock()
		b := startAgent(t, c, dir, func(o *Options) { o.FetchWindow = 4 })
		b.wait(t, "applied after the resume", applied(1))
		again := c.served - int64(len(model))
		t.Logf("model %d bytes; %d sent before the cut, %d in all: %d sent again", len(model), sentBefore, c.served, again)
		if again < 0 || again > 4*chunkSize {
			t.Errorf("%d bytes sent again, want at most the window (%d)", again, 4*chunkSize)
		}
	})
}

// TestFetchLostChunks: chunks lost on the way are asked for again.
func TestFetchLostChunks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, dir := newCloud(t), t.TempDir()
		c.cut = 3
		a := startAgent(t, c, dir, nil)
		model := fakeONNX(200_000)
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 1, model, ""))
		deadline := time.Now().Add(10 * time.Second)
		for {
			c.mu.Lock()
			served := c.served
			c.mu.Unlock()
			if served == 3*chunkSize || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		if r := *a.m.Report(); r.State != wire.ReportDownloading {
			t.Fatalf("with chunks lost: %+v", r)
		}
		c.mu.Lock()
		c.cut = -1
		c.mu.Unlock()
		a.wait(t, "applied", applied(1))
	})
}

func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, dir := newCloud(t), t.TempDir()
		a := startAgent(t, c, dir, func(o *Options) { o.MaxRate = 200_000 })
		model := fakeONNX(300_000)
		start := time.Now()
		a.m.Message(topics.Desired(testDevice), c.doc(testDevice, 1, model, ""))
		a.wait(t, "applied", applied(1))
		if el := time.Since(start); el < time.Second {
			t.Errorf("300 kB at 200 kB/s took %v", el)
		}
	})
}

func TestCheckONNXFile(t *testing.T) {
	dir := t.TempDir()
	good := fakeONNX(1000)
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"model", good, true},
		{"cut short", good[:500], false},
		{"empty", nil, false},
		{"no graph", []byte{0x08, 0x07}, false},
		{"text", []byte("this is not a model\n"), false},
		{"trailing garbage", append(bytes.Clone(good), 0xff), false},
	} {
		p := filepath.Join(dir, tc.name)
		_ = os.WriteFile(p, tc.b, 0o644)
		if err := CheckONNXFile(p); (err == nil) != tc.ok {
			t.Errorf("%s: CheckONNXFile = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	if p := "../../models/treecover-seg.onnx"; fileExists(p) {
		if err := CheckONNXFile(p); err != nil {
			t.Errorf("the shipped model: %v", err)
		}
	}
}

func FuzzCheckONNXFile(f *testing.F) {
	f.Add(fakeONNX(100))
	f.Add([]byte{0x08, 0x07, 0x3a, 0x80})
	f.Add([]byte("not a model"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "m.onnx")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := CheckONNXFile(p); err != nil && !errors.Is(err, ErrNotONNX) {
			t.Fatalf("CheckONNXFile: %v, want nil or ErrNotONNX", err)
		}
	})
}
