package boards

// Additions to the committed contract (all backward compatible):
//   - Profile.DefaultForArch and the arch fallback in Detect: with no
//     device-tree match, Detect returns the profile that names runtime.GOARCH
//     there (x86_64 on amd64), so a development box gets its profile too.
//   - Profile.Validate, and All validates every profile.
//   - Detect prefers the longest matching string, so that the order of the
//     files never decides between two boards.

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed profiles/*.yaml
var profileFiles embed.FS

// DeviceTreeModel is where Detect reads the board's model string.
const DeviceTreeModel = "/proc/device-tree/model"

// Profile is what the agent should assume on one kind of board. Code
// branches on its capability fields, never on its name.
type Profile struct {
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description" json:"description"`
	Match       []string `yaml:"match" json:"match"` // substrings of /proc/device-tree/model
	// DefaultForArch lists the GOARCH values ("amd64") on which Detect
	// falls back to this profile when no device-tree string matches.
	DefaultForArch []string `yaml:"default_for_arch" json:"default_for_arch"`
	Camera         Camera   `yaml:"camera" json:"camera"`
	ONNX           ONNX     `yaml:"onnx" json:"onnx"`
	JPEGQuality    int      `yaml:"jpeg_quality" json:"jpeg_quality"`
	// OutboxDiskShare is the default outbox bound as a share of the free
	// disk space of the state directory, in (0, 1].
	OutboxDiskShare float64 `yaml:"outbox_disk_share" json:"outbox_disk_share"`
	// GoMemoryLimitMiB is the soft limit of the Go runtime's memory
	// (GOMEMLIMIT) in MiB: the garbage collector works harder as the heap
	// nears it. 0: none.
	GoMemoryLimitMiB int `yaml:"go_memory_limit_mib" json:"go_memory_limit_mib"`
	// MetricsListen is where the agent serves its Prometheus metrics by
	// default: "" (off) or a loopback address such as 127.0.0.1:9464.
	MetricsListen string `yaml:"metrics_listen" json:"metrics_listen"`
}

// Camera is the default capture source and format.
type Camera struct {
	Source string  `yaml:"source" json:"source"` // V4L2 index, GStreamer pipeline, URL, file or folder
	Width  int     `yaml:"width" json:"width"`
	Height int     `yaml:"height" json:"height"`
	FPS    float64 `yaml:"fps" json:"fps"`
	// Model names the board's usual camera (LookupCamera) for the ground
	// sample distance; "" when there is none.
	Model string `yaml:"model" json:"model,omitempty"`
}

// ONNX is how ONNX Runtime runs on the board.
type ONNX struct {
	// Provider is the preferred execution provider: "cpu", "cuda" or
	// "tensorrt". Anything but cpu falls back to cpu with a warning.
	Provider string `yaml:"provider" json:"provider"`
	Threads  int    `yaml:"threads" json:"threads"` // 0: ONNX Runtime's default
	// Memory is "fast" (every graph optimisation, no memory pattern) or
	// "lean" (no layout transform either: less memory, the same speed on
	// arm64, slower on x86; see internal/ortenv); "" is fast.
	Memory string `yaml:"memory" json:"memory"`
}

// Memories are the ONNX memory modes a profile may name.
var Memories = []string{"fast", "lean"}

// Providers are the execution providers a profile may name.
var Providers = []string{"cpu", "cuda", "tensorrt"}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate reports every problem of the profile at once.
func (p Profile) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !validName.MatchString(p.Name) {
		bad("name %q: want 1..64 of [a-z0-9._-]", p.Name)
	}
	if strings.TrimSpace(p.Description) == "" {
		bad("description is empty")
	}
	for _, m := range p.Match {
		if strings.TrimSpace(m) == "" {
			bad("match: empty string")
		}
	}
	for _, a := range p.DefaultForArch {
		if a == "" || strings.ContainsAny(a, " /") {
			bad("default_for_arch: %q is not a GOARCH", a)
		}
	}
	if strings.TrimSpace(p.Camera.Source) == "" {
		bad("camera.source is empty")
	}
	if p.Camera.Width <= 0 || p.Camera.Height <= 0 {
		bad("camera size %dx%d: want positive", p.Camera.Width, p.Camera.Height)
	}
	if !(p.Camera.FPS > 0 && p.Camera.FPS <= 240) {
		bad("camera.fps %v: want in (0, 240]", p.Camera.FPS)
	}
	if p.Camera.Model != "" {
		if _, err := LookupCamera(p.Camera.Model); err != nil {
			bad("camera.model: %v", err)
		}
	}
	if !contains(Providers, p.ONNX.Provider) {
		bad("onnx.provider %q: want one of %s", p.ONNX.Provider, strings.Join(Providers, ", "))
	}
	if p.ONNX.Threads < 0 || p.ONNX.Threads > 256 {
		bad("onnx.threads %d: want 0..256", p.ONNX.Threads)
	}
	if p.ONNX.Memory != "" && !contains(Memories, p.ONNX.Memory) {
		bad("onnx.memory %q: want one of %s", p.ONNX.Memory, strings.Join(Memories, ", "))
	}
	if p.GoMemoryLimitMiB < 0 || p.GoMemoryLimitMiB > 1<<20 {
		bad("go_memory_limit_mib %d: want 0 (none) to %d", p.GoMemoryLimitMiB, 1<<20)
	}
	if p.MetricsListen != "" && !loopback(p.MetricsListen) {
		bad("metrics_listen %q: a profile may only turn metrics on at a loopback address (127.0.0.1:PORT)", p.MetricsListen)
	}
	if p.JPEGQuality < 1 || p.JPEGQuality > 100 {
		bad("jpeg_quality %d: want 1..100", p.JPEGQuality)
	}
	if !(p.OutboxDiskShare > 0 && p.OutboxDiskShare <= 1) {
		bad("outbox_disk_share %v: want in (0, 1]", p.OutboxDiskShare)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("board profile %q: %w", p.Name, err)
	}
	return nil
}

// Parse decodes one profile strictly (unknown keys are an error) and
// validates it.
func Parse(b []byte) (Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("decode board profile: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// All returns every profile, sorted by name.
func All() ([]Profile, error) {
	names, err := fs.Glob(profileFiles, "profiles/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []Profile
	seen := map[string]string{}
	for _, n := range names {
		b, err := profileFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		p, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if other, dup := seen[p.Name]; dup {
			return nil, fmt.Errorf("%s: board %q already defined in %s", n, p.Name, other)
		}
		seen[p.Name] = n
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
// model of this machine (/proc/device-tree/model); when none does, the
// profile that is the default for runtime.GOARCH; and false when there is
// neither.
func Detect() (Profile, bool) {
	b, _ := os.ReadFile(DeviceTreeModel) // absent on x86: the arch default decides
	return detect(Model(b), runtime.GOARCH)
}

// Model cleans the raw bytes of /proc/device-tree/model (NUL terminated).
func Model(raw []byte) string {
	return strings.TrimSpace(strings.TrimRight(string(raw), "\x00"))
}

func detect(model, goarch string) (Profile, bool) {
	if p, ok := match(model); ok {
		return p, true
	}
	all, err := All()
	if err != nil {
		return Profile{}, false
	}
	for _, p := range all {
		if contains(p.DefaultForArch, goarch) {
			return p, true
		}
	}
	return Profile{}, false
}

// match returns the profile with the longest match string found in model.
func match(model string) (Profile, bool) {
	all, err := All()
	if err != nil || model == "" {
		return Profile{}, false
	}
	best, bestLen := Profile{}, 0
	for _, p := range all {
		for _, m := range p.Match {
			if m != "" && strings.Contains(model, m) && len(m) > bestLen {
				best, bestLen = p, len(m)
			}
		}
	}
	return best, bestLen > 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loopback reports whether addr is host:port with a loopback IP and a
// port.
func loopback(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
