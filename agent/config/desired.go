package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Desired-state modes (Desired.Mode).
const (
	DesiredOn  = "on"  // apply the cloud's signed desired documents (needs sync.broker and sync.cloud_key)
	DesiredOff = "off" // ignore them
)

// Desired is how the agent takes the cloud's desired state: config
// overrides and models, delivered signed over MQTT (agent/desired).
type Desired struct {
	// Mode is "on" or "off".
	Mode string `yaml:"mode"`
	// HealthWindow is how long after a change the agent has to reach the
	// cloud and capture; if it cannot, it rolls back to what ran before.
	HealthWindow Duration `yaml:"health_window"`
	// FetchWindow is how many model chunks are asked for at once.
	FetchWindow int `yaml:"fetch_window"`
	// MaxRate caps the model bytes fetched a second (0 = unlimited).
	MaxRate int64 `yaml:"max_rate"`
}

func defaultDesired() Desired {
	return Desired{Mode: DesiredOn, HealthWindow: Duration(2 * time.Minute), FetchWindow: 8}
}

func (d Desired) validate(bad func(string, ...any)) {
	if d.Mode != DesiredOn && d.Mode != DesiredOff {
		bad("desired.mode %q: want on or off", d.Mode)
	}
	if d.HealthWindow < Duration(time.Second) {
		bad("desired.health_window %v: want at least 1s", d.HealthWindow)
	}
	if d.FetchWindow < 1 || d.FetchWindow > 256 {
		bad("desired.fetch_window %d out of 1..256", d.FetchWindow)
	}
	if d.MaxRate < 0 {
		bad("desired.max_rate %d is negative", d.MaxRate)
	}
}

// LocalOnly lists the keys that only the device's own configuration sets:
// a desired document that overrides one of them (or a section holding
// one) is refused. They name the device, its files and what it trusts.
var LocalOnly = []string{
	"device", "board", "data",
	"sync.cloud_key", "sync.ca_file", "sync.cert_file", "sync.key_file", "sync.username_file", "sync.password_file",
	"segmenter.model", "segmenter.library",
	"desired.mode",
}

// ErrLocalOnly: a remote override names a key of LocalOnly.
var ErrLocalOnly = errors.New("key set only by the device's own configuration")

// ApplyOverrides applies a desired document's config overrides (a JSON
// object of the YAML keys, such as {"select": {"min_share": 0.1}}) on top
// of c, strictly (an unknown key or a wrong type is an error), and
// validates the result. Keys of LocalOnly are refused. c is left as it
// was when an error is returned.
func ApplyOverrides(c *Config, overrides json.RawMessage) error {
	if len(overrides) == 0 {
		return nil
	}
	var tree map[string]any
	if err := json.Unmarshal(overrides, &tree); err != nil {
		return fmt.Errorf("config overrides: not a JSON object: %w", err)
	}
	if bad := localOnlyKeys("", tree); len(bad) > 0 {
		return fmt.Errorf("config overrides: %w: %s", ErrLocalOnly, strings.Join(bad, ", "))
	}
	next := *c
	if err := Decode(overrides, &next); err != nil { // JSON is YAML
		return fmt.Errorf("config overrides: %w", err)
	}
	if err := next.Validate(); err != nil {
		return fmt.Errorf("config overrides:\n%w", err)
	}
	*c = next
	return nil
}

// localOnlyKeys returns the dotted keys under prefix of tree that are, or
// hold, a LocalOnly key.
func localOnlyKeys(prefix string, tree map[string]any) []string {
	var bad []string
	keys := make([]string, 0, len(tree))
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := prefix + k
		if slices.ContainsFunc(LocalOnly, func(l string) bool { return l == p || strings.HasPrefix(l, p+".") && !isObject(tree[k]) }) {
			bad = append(bad, p)
			continue
		}
		if sub, ok := tree[k].(map[string]any); ok {
			bad = append(bad, localOnlyKeys(p+".", sub)...)
		}
	}
	return bad
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }
