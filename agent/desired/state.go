package desired

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Settings are what the agent runs of its desired state.
type Settings struct {
	// Version is the desired document's version (0: the agent's own
	// configuration, nothing applied).
	Version int64 `json:"version"`
	// Config are the document's config overrides (agent YAML keys as a
	// JSON object; none when empty).
	Config json.RawMessage `json:"config,omitempty"`
	// Model is the model to run, and ModelPath its file under
	// Dir/models (nil, "": the agent's own model).
	Model     *wire.ModelRef `json:"model,omitempty"`
	ModelPath string         `json:"model_path,omitempty"`
}

// ModelSHA256 is the SHA-256 of s's model ("" for none).
func (s Settings) ModelSHA256() string {
	if s.Model == nil {
		return ""
	}
	return s.Model.SHA256
}

// same reports whether s and o run the same config and model.
func (s Settings) same(o Settings) bool {
	return string(s.Config) == string(o.Config) && s.ModelSHA256() == o.ModelSHA256()
}

// state is Dir/state.json.
type state struct {
	Applied  Settings  `json:"applied"`
	Previous *Settings `json:"previous,omitempty"` // kept on disk for a rollback
	// Trial is being tried; TrialStarts counts the agent's starts during it.
	Trial       *Settings `json:"trial,omitempty"`
	TrialStarts int       `json:"trial_starts,omitempty"`
	// Pending is a document accepted whose model is being fetched.
	Pending *wire.Desired `json:"pending,omitempty"`
	// Outcome of the last document (wire.ReportApplied, ReportRolledBack
	// or ReportRefused), the last version that failed and why.
	Outcome       string `json:"outcome,omitempty"`
	FailedVersion int64  `json:"failed_version,omitempty"`
	LastError     string `json:"last_error,omitempty"`
}

// newest is the highest version the agent has seen and verified.
func (st *state) newest() int64 {
	v := max(st.Applied.Version, st.FailedVersion)
	if st.Trial != nil {
		v = max(v, st.Trial.Version)
	}
	if st.Pending != nil {
		v = max(v, st.Pending.Version)
	}
	return v
}

func loadState(path string) (state, error) {
	var st state
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{Outcome: wire.ReportApplied}, nil
	}
	if err != nil {
		return st, fmt.Errorf("read desired state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read desired state %s: %w", path, err)
	}
	return st, nil
}

// save writes st to path atomically: a temporary file, fsynced, renamed.
func (st *state) save(path string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("save desired state: %w", err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("save desired state: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with b: after a crash, path holds either
// the old bytes or the new ones.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
