package boards

import (
	"io/fs"
	"strconv"
	"strings"
	"testing"
)

func TestEveryProfileLoadsStrictlyAndValidates(t *testing.T) {
	names, err := fs.Glob(profileFiles, "profiles/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 4 {
		t.Fatalf("got %d profile files, want at least 4", len(names))
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			b, err := profileFiles.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if want := strings.TrimSuffix(strings.TrimPrefix(n, "profiles/"), ".yaml"); p.Name != want {
				t.Errorf("name %q, want the file name %q", p.Name, want)
			}
		})
	}
	all, err := All()
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	for _, want := range []string{"jetson-orin-nano", "raspberry-pi-3", "raspberry-pi-4", "raspberry-pi-5", "raspberry-pi-zero-2-w", "x86_64"} {
		if _, err := Lookup(want); err != nil {
			t.Errorf("Lookup(%q): %v", want, err)
		}
	}
	if len(all) != len(names) {
		t.Errorf("All gave %d profiles, want %d", len(all), len(names))
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("commodore-64")
	if err == nil || !strings.Contains(err.Error(), "raspberry-pi-4") {
		t.Fatalf("got %v, want an error that lists the known boards", err)
	}
}

func TestParseRejects(t *testing.T) {
	good := `name: b
description: d
camera: {source: "0", width: 640, height: 480, fps: 5}
onnx: {provider: cpu, threads: 0}
jpeg_quality: 80
outbox_disk_share: 0.5
`
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("good profile: %v", err)
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", good + "gpu: yes\n", "field gpu not found"},
		{"bad provider", strings.Replace(good, "provider: cpu", "provider: opencl", 1), "onnx.provider"},
		{"bad quality", strings.Replace(good, "jpeg_quality: 80", "jpeg_quality: 101", 1), "jpeg_quality"},
		{"bad share", strings.Replace(good, "outbox_disk_share: 0.5", "outbox_disk_share: 1.5", 1), "outbox_disk_share"},
		{"zero size", strings.Replace(good, "width: 640", "width: 0", 1), "camera size"},
		{"no fps", strings.Replace(good, "fps: 5", "fps: 0", 1), "camera.fps"},
		{"bad name", strings.Replace(good, "name: b", "name: Big Board", 1), "name"},
		{"bad memory", strings.Replace(good, "threads: 0", "threads: 0, memory: tiny", 1), "onnx.memory"},
		{"negative go limit", good + "go_memory_limit_mib: -1\n", "go_memory_limit_mib"},
		{"metrics off the loopback", good + "metrics_listen: 0.0.0.0:9464\n", "metrics_listen"},
		{"metrics without a port", good + "metrics_listen: 127.0.0.1\n", "metrics_listen"},
		{"every problem at once", strings.Replace(strings.Replace(good, "fps: 5", "fps: 0", 1), "threads: 0", "threads: -1", 1), "onnx.threads"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		model string // as read from /proc/device-tree/model
		want  string // "" = no match
	}{
		{"Raspberry Pi 4 Model B Rev 1.4\x00", "raspberry-pi-4"},
		{"Raspberry Pi 4 Model B Rev 1.1\x00", "raspberry-pi-4"},
		{"Raspberry Pi 400 Rev 1.0\x00", "raspberry-pi-4"},
		{"Raspberry Pi Compute Module 4 Rev 1.0\x00", "raspberry-pi-4"},
		{"Raspberry Pi 5 Model B Rev 1.0\x00", "raspberry-pi-5"},
		{"Raspberry Pi Compute Module 5 Rev 1.0\x00", "raspberry-pi-5"},
		{"NVIDIA Jetson Orin Nano Developer Kit\x00", "jetson-orin-nano"},
		{"NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super\x00", "jetson-orin-nano"},
		{"NVIDIA Orin Nano Developer Kit\x00", "jetson-orin-nano"},
		{"Raspberry Pi 3 Model B Plus Rev 1.3\x00", "raspberry-pi-3"},
		{"Raspberry Pi Compute Module 3 Plus Rev 1.0\x00", "raspberry-pi-3"},
		{"Raspberry Pi Zero 2 W Rev 1.0\x00", "raspberry-pi-zero-2-w"},
		{"Raspberry Pi Zero W Rev 1.1\x00", ""}, // ARMv6, 32-bit: no arm64 agent
		{"Pine64 RockPro64 v2.1\x00", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			p, ok := match(Model([]byte(tc.model)))
			if got := map[bool]string{true: p.Name}[ok]; got != tc.want {
				t.Fatalf("match(%q) = %q, %v; want %q", tc.model, p.Name, ok, tc.want)
			}
		})
	}
}

func TestDetectFallsBackToArch(t *testing.T) {
	tests := []struct {
		model, arch, want string
	}{
		{"", "amd64", "x86_64"},
		{"Raspberry Pi 5 Model B Rev 1.0", "arm64", "raspberry-pi-5"},
		{"", "arm64", ""},
		{"Pine64 RockPro64 v2.1", "arm64", ""},
	}
	for _, tc := range tests {
		p, ok := detect(tc.model, tc.arch)
		if got := map[bool]string{true: p.Name}[ok]; got != tc.want {
			t.Errorf("detect(%q, %q) = %q, want %q", tc.model, tc.arch, got, tc.want)
		}
	}
}

func TestCapabilities(t *testing.T) {
	// The camera source suits the board's camera stack.
	tests := []struct{ board, source, provider string }{
		{"raspberry-pi-4", "libcamerasrc", "cpu"},
		{"raspberry-pi-5", "libcamerasrc", "cpu"},
		{"jetson-orin-nano", "nvarguscamerasrc", "cuda"},
		{"x86_64", "0", "cpu"},
	}
	for _, tc := range tests {
		p, err := Lookup(tc.board)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.Camera.Source, tc.source) {
			t.Errorf("%s: camera source %q, want it to start with %q", tc.board, p.Camera.Source, tc.source)
		}
		if strings.Contains(p.Camera.Source, "!") && !strings.Contains(p.Camera.Source, "appsink") {
			t.Errorf("%s: a GStreamer pipeline for OpenCV must end in appsink: %q", tc.board, p.Camera.Source)
		}
		if p.ONNX.Provider != tc.provider {
			t.Errorf("%s: provider %q, want %q", tc.board, p.ONNX.Provider, tc.provider)
		}
	}
}

func TestPipelineAgreesWithSize(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if !strings.Contains(p.Camera.Source, "!") {
			continue
		}
		for _, want := range []string{
			"width=" + itoa(p.Camera.Width), "height=" + itoa(p.Camera.Height),
			"framerate=" + itoa(int(p.Camera.FPS)) + "/1",
		} {
			if !strings.Contains(p.Camera.Source, want) {
				t.Errorf("%s: pipeline %q lacks %q (from the profile's size and fps)", p.Name, p.Camera.Source, want)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// A board with little memory caps the Go heap and runs ONNX Runtime lean;
// every profile that turns metrics on keeps them on the loopback.
func TestMemorySettings(t *testing.T) {
	for _, tc := range []struct {
		board    string
		maxLimit int // go_memory_limit_mib at most (0: none expected)
		memory   string
	}{
		{"raspberry-pi-zero-2-w", 128, "lean"},
		{"raspberry-pi-3", 192, "lean"},
		{"raspberry-pi-4", 512, "lean"},
		{"x86_64", 0, "fast"},
	} {
		p, err := Lookup(tc.board)
		if err != nil {
			t.Fatal(err)
		}
		if tc.maxLimit > 0 && (p.GoMemoryLimitMiB <= 0 || p.GoMemoryLimitMiB > tc.maxLimit) {
			t.Errorf("%s: go_memory_limit_mib %d, want 1..%d", tc.board, p.GoMemoryLimitMiB, tc.maxLimit)
		}
		if tc.maxLimit == 0 && p.GoMemoryLimitMiB != 0 {
			t.Errorf("%s: go_memory_limit_mib %d, want none", tc.board, p.GoMemoryLimitMiB)
		}
		if p.ONNX.Memory != tc.memory {
			t.Errorf("%s: onnx.memory %q, want %q", tc.board, p.ONNX.Memory, tc.memory)
		}
	}
}
