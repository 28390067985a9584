package boards

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed profiles/*.yaml
var profileFiles embed.FS

// Profile is what the agent should assume on one kind of board. Code
// branches on its capability fields, never on its name.
type Profile struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Match       []string `yaml:"match"` // substrings of /proc/device-tree/model
	Camera      Camera   `yaml:"camera"`
	ONNX        ONNX     `yaml:"onnx"`
	JPEGQuality int      `yaml:"jpeg_quality"`
	// OutboxDiskShare is the default outbox bound as a share of the free
	// disk space of the state directory, in (0, 1].
	OutboxDiskShare float64 `yaml:"outbox_disk_share"`
}

// Camera is the default capture source and format.
type Camera struct {
	Source string  `yaml:"source"` // V4L2 index, GStreamer pipeline, URL, file or folder
	Width  int     `yaml:"width"`
	Height int     `yaml:"height"`
	FPS    float64 `yaml:"fps"`
}

// ONNX is how ONNX Runtime runs on the board.
type ONNX struct {
	// Provider is the preferred execution provider: "cpu", "cuda" or
	// "tensorrt". Anything but cpu falls back to cpu with a warning.
	Provider string `yaml:"provider"`
	Threads  int    `yaml:"threads"`
}

// All returns every profile, sorted by name.
func All() ([]Profile, error) {
	names, err := fs.Glob(profileFiles, "profiles/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []Profile
	for _, n := range names {
		b, err := profileFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		var p Profile
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("board profile %s: %w", n, err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup returns the profile called name.
func Lookup(name string) (Profile, error) {
	all, err := All()
	if err != nil {
		return Profile{}, err
	}
	var names []string
	for _, p := range all {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("unknown board %q (known: %s)", name, strings.Join(names, ", "))
}

// Detect returns the profile whose match strings appear in the device-tree
// model of this machine (/proc/device-tree/model), and false when none does.
func Detect() (Profile, bool) {
	b, err := os.ReadFile("/proc/device-tree/model")
	if err != nil {
		return Profile{}, false
	}
	return match(strings.TrimRight(string(b), "\x00\n"))
}

func match(model string) (Profile, bool) {
	all, err := All()
	if err != nil {
		return Profile{}, false
	}
	for _, p := range all {
		for _, m := range p.Match {
			if m != "" && strings.Contains(model, m) {
				return p, true
			}
		}
	}
	return Profile{}, false
}
