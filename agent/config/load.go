package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/canopy-forest/canopy/boards"
)

// Environment variables that carry secrets (the only settings read from
// the environment).
const (
	EnvMQTTUsername = "CANOPY_MQTT_USERNAME"
	EnvMQTTPassword = "CANOPY_MQTT_PASSWORD"
)

// Sources names what Load reads, layer by layer.
type Sources struct {
	// Path is the YAML file ("" = none).
	Path string
	// Board overrides the file's board (a --board flag).
	Board string
	// Getenv reads the environment (nil: os.Getenv).
	Getenv func(string) string
	// Detect finds this machine's board (nil: boards.Detect).
	Detect func() (boards.Profile, bool)
	// Flags applies the command-line flags last (nil: none).
	Flags func(*Config)
}

// Load builds the configuration from defaults, the board profile, the
// file, the environment and the flags, then validates it. It also returns
// the board profile applied (Name "" when none).
func Load(s Sources) (Config, boards.Profile, error) {
	files, err := readFiles(s.Path)
	if err != nil {
		return Config{}, boards.Profile{}, err
	}
	// The files name the board, which is a lower layer: peek at them first.
	board := s.Board
	if board == "" {
		var peek Config
		for _, f := range files {
			if err := Decode(f.data, &peek); err != nil {
				return Config{}, boards.Profile{}, fmt.Errorf("config %s: %w", f.path, err)
			}
		}
		board = peek.Board
	}
	c := Default()
	var prof boards.Profile
	if board != "" {
		p, err := boards.Lookup(board)
		if err != nil {
			return Config{}, boards.Profile{}, fmt.Errorf("config: %w", err)
		}
		prof = p
	} else {
		detect := s.Detect
		if detect == nil {
			detect = boards.Detect
		}
		if p, ok := detect(); ok {
			prof = p
		}
	}
	ApplyProfile(&c, prof)
	for _, f := range files {
		if err := Decode(f.data, &c); err != nil {
			return Config{}, prof, fmt.Errorf("config %s: %w", f.path, err)
		}
	}
	if s.Board != "" {
		c.Board = s.Board
	}
	if err := loadSecrets(&c, s.Getenv); err != nil {
		return Config{}, prof, err
	}
	if s.Flags != nil {
		s.Flags(&c)
	}
	if c.Sync.Username == "" && c.Sync.Password != "" {
		// Canopy's device identities use the device id as the MQTT
		// username (canopy-cloud device add).
		c.Sync.Username = c.Device
	}
	if err := c.Validate(); err != nil {
		return c, prof, fmt.Errorf("invalid config:\n%w", err)
	}
	return c, prof, nil
}

// DropInDir is the folder of fragments read after the config file at path,
// in name order: /etc/canopy/agent.yaml has /etc/canopy/agent.d/*.yaml
// (canopy-cloud device add --out writes the board's identity there).
func DropInDir(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".d"
}

type configFile struct {
	path string
	data []byte
}

// readFiles reads the config file at path ("": none) and then the *.yaml
// files of its DropInDir, if there is one, in name order.
func readFiles(path string) ([]configFile, error) {
	if path == "" {
		return nil, nil
	}
	paths := []string{path}
	dir := DropInDir(path)
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config drop-ins: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	var files []configFile
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		files = append(files, configFile{p, b})
	}
	return files, nil
}

// ApplyProfile sets what a board profile decides. A zero field of the
// profile leaves the setting as it is.
func ApplyProfile(c *Config, p boards.Profile) {
	if p.Camera.Source != "" {
		c.Capture.Source = p.Camera.Source
	}
	if p.Camera.Width > 0 && p.Camera.Height > 0 {
		c.Capture.Width, c.Capture.Height = p.Camera.Width, p.Camera.Height
	}
	if p.Camera.FPS > 0 {
		c.Capture.FPS = p.Camera.FPS
	}
	if p.Camera.Model != "" {
		c.Camera.Model = p.Camera.Model
	}
	if p.ONNX.Provider != "" {
		c.Segmenter.Provider = p.ONNX.Provider
	}
	if p.ONNX.Threads > 0 {
		c.Segmenter.Threads = p.ONNX.Threads
	}
	if p.ONNX.Memory != "" {
		c.Segmenter.Memory = p.ONNX.Memory
	}
	if p.GoMemoryLimitMiB > 0 {
		c.GoMemoryLimitMiB = p.GoMemoryLimitMiB
	}
	if p.MetricsListen != "" {
		c.Metrics.Listen = p.MetricsListen
	}
	if p.JPEGQuality > 0 {
		c.Encode.JPEGQuality = p.JPEGQuality
	}
	if p.OutboxDiskShare > 0 {
		c.Outbox.DiskShare = p.OutboxDiskShare
	}
}

// Decode decodes YAML onto c strictly: an unknown key, a second document
// or a value of the wrong type is an error. Keys absent from b leave c's
// fields as they are. An empty document is allowed.
func Decode(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return errors.New("more than one YAML document")
	}
	return nil
}

// loadSecrets fills the MQTT credentials: the environment wins over the
// files.
func loadSecrets(c *Config, getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	read := func(path, what string) (string, error) {
		if path == "" {
			return "", nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", what, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	var err error
	if v := getenv(EnvMQTTUsername); v != "" {
		c.Sync.Username = v
	} else if c.Sync.UsernameFile != "" {
		if c.Sync.Username, err = read(c.Sync.UsernameFile, "sync.username_file"); err != nil {
			return err
		}
	}
	if v := getenv(EnvMQTTPassword); v != "" {
		c.Sync.Password = v
	} else if c.Sync.Password, err = read(c.Sync.PasswordFile, "sync.password_file"); err != nil {
		return err
	}
	return nil
}
