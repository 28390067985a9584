package flagfile_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/internal/flagfile"
)

type settings struct {
	http    string
	workers int
	share   bool
	timeout time.Duration
	config  string
}

func newFlags(s *settings) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	fs.StringVar(&s.http, "http", "127.0.0.1:8080", "")
	fs.IntVar(&s.workers, "workers", 1, "")
	fs.BoolVar(&s.share, "no-share", false, "")
	fs.DurationVar(&s.timeout, "item-timeout", 2*time.Minute, "")
	fs.StringVar(&s.config, "config", "", "")
	return fs
}

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		file    string
		want    settings
		wantErr []string // substrings; nil: no error
	}{
		{"empty", nil, "", settings{http: "127.0.0.1:8080", workers: 1, timeout: 2 * time.Minute}, nil},
		{"comments only", nil, "# nothing\n", settings{http: "127.0.0.1:8080", workers: 1, timeout: 2 * time.Minute}, nil},
		{"values", nil, "http: 0.0.0.0:80\nworkers: 3\nno-share: true\nitem-timeout: 30s\n",
			settings{http: "0.0.0.0:80", workers: 3, share: true, timeout: 30 * time.Second}, nil},
		{"command line wins", []string{"--workers", "7"}, "workers: 3\nhttp: :81\n",
			settings{http: ":81", workers: 7, timeout: 2 * time.Minute}, nil},
		{"every problem at once", nil, "wokers: 3\nworkers: many\nhttp: [a, b]\nconfig: x.yaml\n", settings{},
			[]string{"line 1: wokers: unknown setting", "line 2: workers:", "line 3: http: want a single value", "line 4: config: not allowed"}},
		{"twice", nil, "workers: 1\nworkers: 2\n", settings{}, []string{"given twice"}},
		{"null", nil, "http:\n", settings{}, []string{"http: want a single value"}},
		{"not a mapping", nil, "- http\n", settings{}, []string{"want a mapping"}},
		{"not yaml", nil, "http: [\n", settings{}, []string{"not YAML"}},
		{"two documents", nil, "http: a\n---\nhttp: b\n", settings{}, []string{"more than one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s settings
			fs := newFlags(&s)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := flagfile.Apply(fs, []byte(tt.file), "config")
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Apply: got nil, want errors about %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Apply: %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if s != tt.want {
				t.Errorf("got %+v, want %+v", s, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	var s settings
	fs := newFlags(&s)
	p := filepath.Join(t.TempDir(), "cloud.yaml")
	if err := os.WriteFile(p, []byte("workers: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := flagfile.Load(fs, p); err != nil || s.workers != 0 {
		t.Fatalf("Load: %v, workers %d, want 0", err, s.workers)
	}
	if err := flagfile.Load(fs, p+".missing"); err == nil || !strings.Contains(err.Error(), "config file") {
		t.Errorf("Load of a missing file: got %v, want a config file error", err)
	}
}

func TestEnv(t *testing.T) {
	env := map[string]string{"CANOPY_HTTP": ":9", "CANOPY_WORKERS": "4", "CANOPY_ITEM_TIMEOUT": "soon", "OTHER": "x"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var s settings
	fs := newFlags(&s)
	if err := fs.Parse([]string{"--http", ":1"}); err != nil {
		t.Fatal(err)
	}
	err := flagfile.Env(fs, "CANOPY_", lookup)
	if err == nil || !strings.Contains(err.Error(), "$CANOPY_ITEM_TIMEOUT") {
		t.Errorf("Env: got %v, want an error about $CANOPY_ITEM_TIMEOUT", err)
	}
	if s.http != ":1" || s.workers != 4 {
		t.Errorf("got http %q workers %d, want :1 (command line) and 4 (environment)", s.http, s.workers)
	}
	var only settings
	fs = newFlags(&only)
	if err := flagfile.EnvFor(fs, "CANOPY_", lookup, "workers"); err != nil {
		t.Errorf("EnvFor(workers): %v (the bad $CANOPY_ITEM_TIMEOUT is not read)", err)
	}
	if only.http != "127.0.0.1:8080" || only.workers != 4 {
		t.Errorf("EnvFor(workers): http %q workers %d, want the default and 4", only.http, only.workers)
	}
	if got := flagfile.EnvName("CANOPY_", "s3-bucket-prefix"); got != "CANOPY_S3_BUCKET_PREFIX" {
		t.Errorf("EnvName: got %q", got)
	}
}

// Config files come from outside: nothing in them may panic Apply.
func FuzzApply(f *testing.F) {
	for _, s := range []string{"", "http: :80\n", "workers: [1]\n", "a: {b: c}\n", "? [x]\n: y\n", "&a x: *a\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s settings
		_ = flagfile.Apply(newFlags(&s), b, "config")
	})
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	to := fs.String("to", "", "")
	speed := fs.Float64("speed", 1, "")
	pos, err := flagfile.Parse(fs, []string{"--speed", "2", "a.tlog", "--to", "udp://h:1", "b"})
	if err != nil || len(pos) != 2 || pos[0] != "a.tlog" || pos[1] != "b" || *to != "udp://h:1" || *speed != 2 {
		t.Fatalf("got %q %v, to %q speed %v", pos, err, *to, *speed)
	}
}
