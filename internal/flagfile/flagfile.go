package flagfile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path and sets the flags it names (see
// Apply).
func Load(fs *flag.FlagSet, path string, skip ...string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	if err := Apply(fs, b, skip...); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// Apply sets the flags named by the keys of the YAML mapping in b, except
// those already set on the command line (fs.Visit) and those named in
// skip (the flag that names the file itself, for instance). An empty
// document sets nothing.
func Apply(fs *flag.FlagSet, b []byte, skip ...string) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("not YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return errors.New("not a YAML mapping")
	}
	m := doc.Content[0]
	if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
		return nil
	}
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of flag names to values", m.Line)
	}
	set := setOnCommandLine(fs)
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	seen := map[string]bool{}
	var errs []error
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := k.Value
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("line %d: %s: %s", k.Line, name, fmt.Sprintf(format, a...)))
		}
		switch {
		case k.Kind != yaml.ScalarNode:
			errs = append(errs, fmt.Errorf("line %d: a key must be a flag name", k.Line))
			continue
		case seen[name]:
			bad("given twice")
			continue
		case skipped[name]:
			bad("not allowed in a config file")
			continue
		case fs.Lookup(name) == nil:
			bad("unknown setting (the keys are the flags of %s)", fs.Name())
			continue
		case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
			bad("want a single value")
			continue
		}
		seen[name] = true
		if set[name] {
			continue
		}
		if err := fs.Set(name, v.Value); err != nil {
			bad("%v", err)
		}
	}
	return errors.Join(errs...)
}

// Env sets every flag not set on the command line from the environment
// variable prefix + its name in upper case with dashes as underscores
// (prefix "CANOPY_": --database-url from CANOPY_DATABASE_URL), when that
// variable is set. lookup is os.LookupEnv, or a fake in tests.
func Env(fs *flag.FlagSet, prefix string, lookup func(string) (string, bool)) error {
	return EnvFor(fs, prefix, lookup)
}

// EnvFor is Env for the flags named only (every flag when none is named).
func EnvFor(fs *flag.FlagSet, prefix string, lookup func(string) (string, bool), names ...string) error {
	set := setOnCommandLine(fs)
	only := map[string]bool{}
	for _, n := range names {
		only[n] = true
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || len(only) > 0 && !only[f.Name] {
			return
		}
		name := EnvName(prefix, f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("$%s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// EnvName is the environment variable Env reads for the flag name.
func EnvName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func setOnCommandLine(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
