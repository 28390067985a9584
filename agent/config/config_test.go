package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/boards"
)

func noBoard() (boards.Profile, bool) { return boards.Profile{}, false }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	c.Device = "dev-1"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ClientID() != "canopy-agent-dev-1" {
		t.Fatalf("ClientID: got %q", c.ClientID())
	}
}

func TestExampleLoads(t *testing.T) {
	c, _, err := Load(Sources{Path: "../canopy-agent.example.yaml", Detect: noBoard, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Device != "pi-north-01" || c.Sync.ChunkSize != 131072 || c.Outbox.BatchWindow.D() != 10*time.Millisecond {
		t.Fatalf("example: got %+v", c)
	}
}

func TestLayers(t *testing.T) {
	path := writeConfig(t, `
device: from-file
board: raspberry-pi-4
capture:
  fps: 2
select:
  min_interval: 3s
sync:
  broker: tcp://127.0.0.1:1884
  cloud_key: `+testCloudKey+`
  password_file: `+filepath.Join(t.TempDir(), "missing")+`
`)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	prof, err := boards.Lookup("raspberry-pi-4")
	if err != nil {
		t.Fatal(err)
	}
	c, got, err := Load(Sources{
		Path:   path,
		Getenv: env(map[string]string{EnvMQTTUsername: "env-user", EnvMQTTPassword: "env-pass"}),
		Detect: func() (boards.Profile, bool) {
			t.Fatal("Detect called although the file names a board")
			return boards.Profile{}, false
		},
		Flags: func(c *Config) { c.Device = "from-flag" },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "raspberry-pi-4" {
		t.Fatalf("profile: got %q", got.Name)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"flag beats file", c.Device, "from-flag"},
		{"file beats board", c.Capture.FPS, 2.0},
		{"board beats default (jpeg)", c.Encode.JPEGQuality, prof.JPEGQuality},
		{"board beats default (source)", c.Capture.Source, prof.Camera.Source},
		{"board provider", c.Segmenter.Provider, prof.ONNX.Provider},
		{"file duration", c.Select.MinInterval.D(), 3 * time.Second},
		{"default kept", c.Sync.Window, 8},
		{"env username", c.Sync.Username, "env-user"},
		{"env password beats a missing file", c.Sync.Password, "env-pass"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	// Credentials from files when the environment has none.
	path2 := writeConfig(t, "sync:\n  password_file: "+pw+"\n")
	c, _, err = Load(Sources{Path: path2, Detect: noBoard, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Sync.Password != "s3cret" {
		t.Fatalf("password from file: got %q", c.Sync.Password)
	}
	// The board flag beats the file's board; detection applies without one.
	c, got, err = Load(Sources{Path: path2, Board: "jetson-orin-nano", Getenv: env(nil)})
	if err != nil || got.Name != "jetson-orin-nano" || c.Board != "jetson-orin-nano" {
		t.Fatalf("board flag: got %q, %v", got.Name, err)
	}
	_, got, err = Load(Sources{Detect: func() (boards.Profile, bool) { return prof, true }, Getenv: env(nil)})
	if err != nil || got.Name != "raspberry-pi-4" {
		t.Fatalf("detected board: got %q, %v", got.Name, err)
	}
}

func TestDecodeStrict(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown top-level key", "devise: x\n", "field devise not found"},
		{"unknown nested key", "capture:\n  sorce: x\n", "field sorce not found"},
		{"password in file", "sync:\n  password: hunter2\n", "field password not found"},
		{"duration as a number", "select:\n  min_interval: 5\n", "duration is a string"},
		{"bad duration", "sync:\n  ack_timeout: soon\n", "invalid duration"},
		{"wrong type", "encode:\n  jpeg_quality: high\n", "cannot unmarshal"},
		{"two documents", "device: a\n---\ndevice: b\n", "more than one"},
		{"empty is fine", "", ""},
		{"comment only is fine", "# nothing\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			err := Decode([]byte(tc.text), &c)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.Device = "bad device"
	c.Data = ""
	c.Log.Level = "loud"
	c.Capture.Source = ""
	c.Capture.Width = 640
	c.Capture.AltitudeM = -3
	c.Capture.GSDM = 1000
	c.Segmenter.Kind = "magic"
	c.Select.MinShare = 2
	c.Encode.JPEGQuality = 0
	c.Sync.Broker = "http://broker"
	c.Sync.CertFile = "c.pem"
	c.Sync.Window = 0
	c.Outbox.Sync = "never"
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"device", "data", "log.level", "capture.source", "capture.width", "capture.altitude_m", "capture.gsd_m", "segmenter.kind",
		"select:", "jpeg_quality", "sync.broker", "cert_file", "sync.window", "outbox.sync"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

func TestValidateCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"ssl broker", func(c *Config) { c.Sync.Broker = "ssl://b.example:8883"; c.Sync.CloudKey = testCloudKey }, true},
		{"broker without a cloud key", func(c *Config) { c.Sync.Broker = "ssl://b.example:8883" }, false},
		{"broker, insecure acks", func(c *Config) { c.Sync.Broker = "ssl://b.example:8883"; c.Sync.InsecureAcks = true }, true},
		{"bad cloud key", func(c *Config) { c.Sync.Broker = "ssl://b.example:8883"; c.Sync.CloudKey = "ed25519:nope" }, false},
		{"broker with credentials", func(c *Config) { c.Sync.Broker = "tcp://u:p@b:1883" }, false},
		{"broker without host", func(c *Config) { c.Sync.Broker = "tcp://" }, false},
		{"topic wildcard", func(c *Config) { c.Sync.TopicRoot = "a/#" }, false},
		{"tiny chunk", func(c *Config) { c.Sync.ChunkSize = 10 }, false},
		{"negative bandwidth", func(c *Config) { c.Sync.Bandwidth = -1 }, false},
		{"max bytes set, share ignored", func(c *Config) { c.Outbox.MaxBytes = 1 << 30; c.Outbox.DiskShare = 0 }, true},
		{"share out of range", func(c *Config) { c.Outbox.DiskShare = 1.5 }, false},
		{"always needs no window", func(c *Config) { c.Outbox.Sync = OutboxSyncAlways; c.Outbox.BatchWindow = 0 }, true},
		{"batch needs a window", func(c *Config) { c.Outbox.BatchWindow = 0 }, false},
		{"classical with a model", func(c *Config) { c.Segmenter.Kind = SegmenterClassical; c.Segmenter.Model = "m.onnx" }, false},
		{"retry max below min", func(c *Config) { c.Capture.RetryMax = Duration(time.Millisecond) }, false},
		{"duplicates keep", func(c *Config) { c.Select.Duplicates = "keep" }, true},
		{"lean onnx memory", func(c *Config) { c.Segmenter.Memory = "lean" }, true},
		{"unknown onnx memory", func(c *Config) { c.Segmenter.Memory = "tiny" }, false},
		{"go memory limit", func(c *Config) { c.GoMemoryLimitMiB = 96 }, true},
		{"negative go memory limit", func(c *Config) { c.GoMemoryLimitMiB = -1 }, false},
		{"metrics on", func(c *Config) { c.Metrics.Listen = "127.0.0.1:9464" }, true},
		{"metrics on every interface", func(c *Config) { c.Metrics.Listen = ":9464" }, true},
		{"metrics without a port", func(c *Config) { c.Metrics.Listen = "127.0.0.1" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Device = "d1"
			tc.edit(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// testCloudKey is a valid cloud key (of no cloud).
const testCloudKey = "ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// TestNoCloudKeyRefused: a broker without the cloud's key is refused, with
// an error that says where the key comes from; insecure_acks lets it pass.
func TestNoCloudKeyRefused(t *testing.T) {
	path := writeConfig(t, "device: pi-1\nsync:\n  broker: ssl://mqtt.example.org:8883\n")
	_, _, err := Load(Sources{Path: path, Detect: noBoard, Getenv: env(nil)})
	if !errors.Is(err, ErrNoCloudKey) {
		t.Fatalf("Load: %v, want ErrNoCloudKey", err)
	}
	for _, want := range []string{"sync.cloud_key", "canopy-cloud device add", "--insecure-acks"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	c, _, err := Load(Sources{Path: path, Detect: noBoard, Getenv: env(nil), Flags: func(c *Config) { c.Sync.InsecureAcks = true }})
	if err != nil || !c.Sync.InsecureAcks {
		t.Errorf("with insecure acks: %v", err)
	}
	if _, _, err := Load(Sources{Path: writeConfig(t, "sync:\n  broker: \"\"\n"), Detect: noBoard, Getenv: env(nil)}); err != nil {
		t.Errorf("no broker (items stay on the device) needs no key: %v", err)
	}
}

// TestDropIns: agent.d/*.yaml beside agent.yaml are read after it, in name
// order; a bad fragment is reported with its path.
func TestDropIns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	if DropInDir(path) != filepath.Join(dir, "agent.d") {
		t.Fatalf("DropInDir(%s) = %s", path, DropInDir(path))
	}
	pw := filepath.Join(dir, "pi-7.password")
	for name, text := range map[string]string{
		"agent.yaml":           "device: from-main\ncapture:\n  fps: 2\nsync:\n  broker: ssl://placeholder.invalid:8883\n",
		"agent.d/pi-7.yaml":    "device: pi-7\nsync:\n  broker: ssl://mq.example.org:8883\n  username: pi-7\n  password_file: " + pw + "\n  cloud_key: " + testCloudKey + "\n",
		"agent.d/zz-late.yaml": "capture:\n  fps: 3\n",
		"agent.d/notes.txt":    "not yaml: ignored",
		"pi-7.password":        "s3cret\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, _, err := Load(Sources{Path: path, Detect: noBoard, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Device != "pi-7" || c.Sync.Broker != "ssl://mq.example.org:8883" || c.Sync.Username != "pi-7" ||
		c.Sync.Password != "s3cret" || c.Sync.CloudKey != testCloudKey || c.Capture.FPS != 3 {
		t.Errorf("with drop-ins: %+v", c)
	}
	os.WriteFile(filepath.Join(dir, "agent.d", "bad.yaml"), []byte("sync:\n  pasword_file: x\n"), 0o600)
	if _, _, err := Load(Sources{Path: path, Detect: noBoard, Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("bad drop-in: %v, want an error naming it", err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, _, err := Load(Sources{Path: filepath.Join(t.TempDir(), "none.yaml")}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: got %v", err)
	}
	if _, _, err := Load(Sources{Path: writeConfig(t, "board: toaster\n"), Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), "toaster") {
		t.Fatalf("unknown board: got %v", err)
	}
	if _, _, err := Load(Sources{Path: writeConfig(t, "encode:\n  jpeg_quality: 0\n"), Detect: noBoard, Getenv: env(nil)}); err == nil {
		t.Fatal("invalid value: want an error")
	}
}

func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile("../canopy-agent.example.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("device: x\nsync:\n  ack_timeout: 1s\n"))
	f.Add([]byte("select: {min_interval: 5}\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Default()
		if err := Decode(b, &c); err != nil {
			return
		}
		_ = c.Validate() // must not panic
	})
}

func TestOutboxMaxBytes(t *testing.T) {
	c := Default()
	c.Data = t.TempDir()
	c.Outbox.MaxBytes = 12345
	if n, err := c.OutboxMaxBytes(); err != nil || n != 12345 {
		t.Fatalf("explicit: got %d, %v", n, err)
	}
	c.Outbox.MaxBytes = 0
	c.Outbox.DiskShare = 0.5
	half, err := c.OutboxMaxBytes()
	if err != nil || half < MinOutboxBytes {
		t.Fatalf("share: got %d, %v", half, err)
	}
	c.Outbox.DiskShare = 1
	if all, _ := c.OutboxMaxBytes(); all < half {
		t.Fatalf("share 1 gives %d < share 0.5 %d", all, half)
	}
}

// A small board's profile sets the memory settings and turns metrics on;
// the file and the flags still win.
func TestProfileMemoryAndMetrics(t *testing.T) {
	c, prof, err := Load(Sources{Board: "raspberry-pi-zero-2-w", Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if prof.Name != "raspberry-pi-zero-2-w" || c.Segmenter.Memory != "lean" || c.GoMemoryLimitMiB != 96 || c.Metrics.Listen != "127.0.0.1:9464" {
		t.Fatalf("got memory %q, limit %d, metrics %q", c.Segmenter.Memory, c.GoMemoryLimitMiB, c.Metrics.Listen)
	}
	path := writeConfig(t, "go_memory_limit_mib: 200\nsegmenter: {memory: fast}\n")
	c, _, err = Load(Sources{Path: path, Board: "raspberry-pi-zero-2-w", Getenv: env(nil),
		Flags: func(c *Config) { c.Metrics.Listen = "" }})
	if err != nil {
		t.Fatal(err)
	}
	if c.GoMemoryLimitMiB != 200 || c.Segmenter.Memory != "fast" || c.Metrics.Listen != "" {
		t.Fatalf("file and flags: got limit %d, memory %q, metrics %q", c.GoMemoryLimitMiB, c.Segmenter.Memory, c.Metrics.Listen)
	}
}

// TestPackagedConfig: the .deb's /etc/canopy/agent.yaml (boards/deb) is
// refused as shipped, for want of the cloud's key, and loads once a
// fragment like the one canopy-cloud device add --out writes lies in
// agent.d beside it. (scripts/test.d/package.sh does the same with the
// installed package.)
func TestPackagedConfig(t *testing.T) {
	b, err := os.ReadFile("../../boards/deb/agent.yaml.in")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	body := strings.Replace(string(b), "@MODEL_LINE@", `  model: ""`, 1)
	if err := os.WriteFile(path, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(Sources{Path: path, Detect: noBoard, Getenv: env(nil)}); !errors.Is(err, ErrNoCloudKey) {
		t.Fatalf("packaged config: %v, want ErrNoCloudKey", err)
	}
	os.Mkdir(filepath.Join(dir, "agent.d"), 0o755)
	frag := "device: pi-1\nsync:\n  broker: ssl://mq.example.org:8883\n  cloud_key: " + testCloudKey + "\n"
	if err := os.WriteFile(filepath.Join(dir, "agent.d", "pi-1.yaml"), []byte(frag), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, _, err := Load(Sources{Path: path, Detect: noBoard, Getenv: env(nil)}); err != nil || c.Sync.Broker != "ssl://mq.example.org:8883" {
		t.Fatalf("packaged config with the fragment: %v, broker %q", err, c.Sync.Broker)
	}
}
