package rollout

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/internal/ulid"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Defaults of a Spec.
const (
	DefaultWaves         = 2
	DefaultCanary        = 0.1
	DefaultHaltThreshold = 0.2
	DefaultWaveTimeout   = 10 * time.Minute
)

// Event is one entry for the audit trail: an operator's action on a
// rollout, or an automatic halt.
type Event struct {
	Rollout string
	Action  string // create, pause, resume, abort, halt
	Detail  string
}

// Service creates and steps rollouts over the database.
type Service struct {
	DB  *db.DB
	Key ed25519.PrivateKey // the cloud's signing key (identity.Keys.Signer)
	Log *slog.Logger
	// Audit receives every Event (nil: they are logged).
	Audit func(ctx context.Context, e Event)
}

// audit is where every operator action and automatic halt is recorded.
func (s *Service) audit(ctx context.Context, e Event) {
	if s.Audit != nil {
		s.Audit(ctx, e)
		return
	}
	s.log().Info("rollout audit", "rollout", e.Rollout, "action", e.Action, "detail", e.Detail)
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Spec is what Create sets.
type Spec struct {
	ID        string          // "" makes one
	ModelPath string          // the model file ("": the devices' model stays)
	Config    json.RawMessage // agent config overrides (a JSON object; nil: none)
	Devices   []string        // in the order the waves take them
	Waves     int             // 0: DefaultWaves
	// Canary is the share of the devices in the first wave (0:
	// DefaultCanary; at least one device).
	Canary float64
	// HaltThreshold halts the rollout when more than this share of the
	// devices sent fail (0: DefaultHaltThreshold).
	HaltThreshold float64
	// WaveTimeout sends the next wave after this even when some devices
	// of the wave have not answered (0: DefaultWaveTimeout).
	WaveTimeout time.Duration
	// ChunkSize is the model's chunk size (0: wire.DefaultArtifactChunk).
	ChunkSize int
}

var ids = ulid.NewGenerator(nil)

// Create stores the model and the rollout; receivers send its first wave
// within a second or two.
func (s *Service) Create(ctx context.Context, sp Spec) (Status, error) {
	if err := sp.defaults(); err != nil {
		return Status{}, fmt.Errorf("create rollout: %w", err)
	}
	r := db.Rollout{ID: sp.ID, State: db.RolloutRunning, Waves: sp.Waves, Canary: sp.Canary,
		HaltThreshold: sp.HaltThreshold, WaveTimeout: sp.WaveTimeout}
	if len(sp.Config) > 0 {
		r.Config = string(sp.Config)
	}
	if sp.ModelPath != "" {
		a, err := s.putModel(ctx, sp.ModelPath, sp.ChunkSize)
		if err != nil {
			return Status{}, fmt.Errorf("create rollout: %w", err)
		}
		r.ModelSHA256 = a.SHA256
	}
	targets := assignWaves(sp.Devices, sp.Waves, sp.Canary)
	for i, t := range targets {
		if s.revoked(ctx, t.Device) {
			targets[i].State, targets[i].Detail = db.TargetSkipped, "revoked"
		}
	}
	if err := s.DB.CreateRollout(ctx, r, targets); err != nil {
		return Status{}, err
	}
	s.audit(ctx, Event{Rollout: r.ID, Action: "create", Detail: fmt.Sprintf("model %s, config %s, %d devices in %d waves",
		orNone(r.ModelSHA256), orNone(r.Config), len(targets), r.Waves)})
	return s.Status(ctx, r.ID)
}

// revoked reports whether dev's identity is revoked (a device without
// one, on a broker that does not check them, is not).
func (s *Service) revoked(ctx context.Context, dev string) bool {
	c, err := s.DB.GetCredential(ctx, dev)
	return err == nil && c.Revoked()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (sp *Spec) defaults() error {
	if sp.ID == "" {
		id, err := ids.New(time.Now())
		if err != nil {
			return err
		}
		sp.ID = "r" + strings.ToLower(id)
	}
	if wire.ValidItemID(sp.ID) != nil {
		return fmt.Errorf("rollout id %q: want 1 to 64 of A-Z a-z 0-9 . _ -", sp.ID)
	}
	if sp.Waves == 0 {
		sp.Waves = DefaultWaves
	}
	if sp.Canary == 0 {
		sp.Canary = DefaultCanary
	}
	if sp.HaltThreshold == 0 {
		sp.HaltThreshold = DefaultHaltThreshold
	}
	if sp.WaveTimeout == 0 {
		sp.WaveTimeout = DefaultWaveTimeout
	}
	if sp.ChunkSize == 0 {
		sp.ChunkSize = wire.DefaultArtifactChunk
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if sp.ModelPath == "" && len(sp.Config) == 0 {
		bad("nothing to roll out: give a model, config overrides or both")
	}
	if len(sp.Config) > 0 {
		var obj map[string]any
		if err := json.Unmarshal(sp.Config, &obj); err != nil {
			bad("config overrides: not a JSON object: %v", err)
		}
	}
	if len(sp.Devices) == 0 {
		bad("no devices")
	}
	seen := map[string]bool{}
	for _, d := range sp.Devices {
		if err := wire.ValidDevice(d); err != nil {
			bad("%v", err)
		}
		if seen[d] {
			bad("device %s given twice", d)
		}
		seen[d] = true
	}
	if sp.Waves < 1 || sp.Waves > 100 {
		bad("waves %d: want 1 to 100", sp.Waves)
	}
	if sp.Canary <= 0 || sp.Canary > 1 {
		bad("canary %v: want a share in (0, 1]", sp.Canary)
	}
	if sp.HaltThreshold <= 0 || sp.HaltThreshold > 1 {
		bad("halt threshold %v: want a share in (0, 1]", sp.HaltThreshold)
	}
	if sp.WaveTimeout < time.Second {
		bad("wave timeout %v: want at least 1s", sp.WaveTimeout)
	}
	if sp.ChunkSize < wire.MinArtifactChunk || sp.ChunkSize > wire.DefaultArtifactChunk {
		bad("chunk size %d: want %d to %d", sp.ChunkSize, wire.MinArtifactChunk, wire.DefaultArtifactChunk)
	}
	return errors.Join(errs...)
}

// assignWaves puts the first ceil(canary*n) devices (at least one) in
// wave 1 and spreads the others evenly over the other waves, in order.
func assignWaves(devices []string, waves int, canary float64) []db.RolloutTarget {
	n := len(devices)
	first := min(n, max(1, int(math.Ceil(canary*float64(n)))))
	if waves == 1 {
		first = n
	}
	out := make([]db.RolloutTarget, n)
	for i, d := range devices {
		w := 1
		if i >= first {
			rest, k := n-first, i-first
			w = 2 + k*(waves-1)/rest
		}
		out[i] = db.RolloutTarget{Device: d, Wave: w}
	}
	return out
}

// putModel stores the model file at path in chunks of chunkSize.
func (s *Service) putModel(ctx context.Context, path string, chunkSize int) (db.Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return db.Artifact{}, fmt.Errorf("model: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return db.Artifact{}, fmt.Errorf("model %s: %w", path, err)
	}
	if size == 0 || size > wire.MaxArtifactBytes {
		return db.Artifact{}, fmt.Errorf("model %s: %d bytes, want 1 to %d", path, size, wire.MaxArtifactBytes)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return db.Artifact{}, err
	}
	a := db.Artifact{SHA256: hex.EncodeToString(h.Sum(nil)), Size: size, ChunkSize: chunkSize, Name: filepath.Base(path)}
	if err := s.DB.PutArtifact(ctx, a, f); err != nil {
		return db.Artifact{}, err
	}
	return s.DB.GetArtifact(ctx, a.SHA256) // the stored one's chunk size, when it was stored before
}

// Status is a rollout and its devices.
type Status struct {
	db.Rollout
	WaveTimeoutS float64            `json:"wave_timeout_s"`
	Counts       map[string]int     `json:"counts"` // devices by state in the rollout
	Targets      []db.RolloutTarget `json:"devices"`
}

// Status returns rollout id with its devices.
func (s *Service) Status(ctx context.Context, id string) (Status, error) {
	r, err := s.DB.GetRollout(ctx, id)
	if err != nil {
		return Status{}, err
	}
	ts, err := s.DB.RolloutTargets(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st := Status{Rollout: r, WaveTimeoutS: r.WaveTimeout.Seconds(), Counts: map[string]int{}, Targets: ts}
	for _, t := range ts {
		st.Counts[t.State]++
	}
	return st, nil
}

// Pause stops sending waves until Resume.
func (s *Service) Pause(ctx context.Context, id string) error {
	return s.move(ctx, id, "pause", []string{db.RolloutRunning}, db.RolloutPaused, "paused by the operator")
}

// Resume goes on with a paused rollout. (A halted one is aborted: its
// failures would halt it again.)
func (s *Service) Resume(ctx context.Context, id string) error {
	return s.move(ctx, id, "resume", []string{db.RolloutPaused}, db.RolloutRunning, "")
}

// Abort stops a rollout for good: the devices sent its change that have
// not applied it (not answered, or failed) are given back the document
// they had before (a new version of it); devices that applied it keep it.
func (s *Service) Abort(ctx context.Context, id string) error {
	if err := s.move(ctx, id, "abort", []string{db.RolloutRunning, db.RolloutPaused, db.RolloutHalted}, db.RolloutAborted, "aborted by the operator"); err != nil {
		return err
	}
	return s.withdraw(ctx, id, withdrawal{silent: true, pending: true})
}

func (s *Service) move(ctx context.Context, id, action string, from []string, to, reason string) error {
	r, err := s.DB.GetRollout(ctx, id)
	if err != nil {
		return err
	}
	ok, err := s.DB.SetRolloutState(ctx, id, from, to, reason)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s rollout %s: it is %s (want %s)", action, id, r.State, strings.Join(from, " or "))
	}
	s.audit(ctx, Event{Rollout: id, Action: action, Detail: fmt.Sprintf("%s -> %s", r.State, to)})
	return nil
}
