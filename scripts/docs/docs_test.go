package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlug(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"A drone's companion computer", "a-drones-companion-computer"},
		{"HTTPS, a reverse proxy, and /metrics", "https-a-reverse-proxy-and-metrics"},
		{"Several receivers: any receiver finishes any item", "several-receivers-any-receiver-finishes-any-item"},
		{"`select.mode` and `gsd_m`", "selectmode-and-gsd_m"},
		{"Read [the card](models/x.md) first", "read-the-card-first"},
		{"Counting in AWS Lambda", "counting-in-aws-lambda"},
	} {
		if got := slug(c.in); got != c.want {
			t.Errorf("slug(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	text := strings.Join([]string{
		"# Title",
		"## Title",
		"See [a](b.md#c) and `[not](a link)` and ![pic](img/x.png).",
		"[ref]: other.md",
		`<a id="here"></a>`,
		"```sh run",
		"echo one",
		"# not a heading",
		"```",
		"1. a step",
		"   ```sh manual",
		"   make test",
		"   ```",
		"```yaml",
		"a: 1",
		"```",
		"```bash run aws",
		"x",
		"```",
	}, "\n")
	d, err := parse("t.md", text)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"title", "title-1", "here"} {
		if !d.anchors[a] {
			t.Errorf("anchor %q missing: %v", a, d.anchors)
		}
	}
	if d.anchors["not-a-heading"] {
		t.Error("a comment in a code block became a heading")
	}
	var targets []string
	for _, l := range d.links {
		targets = append(targets, l.target)
	}
	if got, want := strings.Join(targets, " "), "b.md#c img/x.png other.md"; got != want {
		t.Errorf("links %q, want %q", got, want)
	}
	want := []struct{ lang, class, text string }{
		{"sh", "run", "echo one\n# not a heading\n"},
		{"sh", "manual", "make test\n"},
		{"yaml", "", "a: 1\n"},
		{"bash", "several", "x\n"},
	}
	if len(d.blocks) != len(want) {
		t.Fatalf("%d blocks, want %d: %+v", len(d.blocks), len(want), d.blocks)
	}
	for i, w := range want {
		b := d.blocks[i]
		if b.lang != w.lang || b.class != w.class || b.text != w.text {
			t.Errorf("block %d: %q %q %q, want %q %q %q", i, b.lang, b.class, b.text, w.lang, w.class, w.text)
		}
	}
	if _, err := parse("t.md", "```sh run\necho\n"); err == nil {
		t.Error("an unclosed block: no error")
	}
}

func TestCheck(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Canopy\n[guide](docs/guide.md#set-up) [top](#canopy) [dir](docs/) [web](https://example.org/x)\n")
	write("CONTRIBUTING.md", "[gone](docs/gone.md) [bad](docs/guide.md#nowhere) [up](../x) [self](#nope)\n")
	write("docs/guide.md", "## Set-up\n[back](../README.md#canopy)\n```sh\nmake\n```\n```sh run hardware\nx\n```\n```sh hardware\nok\n```\n")
	problems := checkRoot(t, root)
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		"CONTRIBUTING.md:1: link docs/gone.md: no such file",
		"CONTRIBUTING.md:1: link docs/guide.md#nowhere: no heading with anchor #nowhere",
		"CONTRIBUTING.md:1: link ../x: outside the repository",
		"CONTRIBUTING.md:1: link #nope: no heading",
		"docs/guide.md:3: shell block with no class",
		"docs/guide.md:6: shell block with several classes",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if len(problems) != 6 {
		t.Errorf("%d problems, want 6:\n%s", len(problems), got)
	}
}

// TestRepo checks the repository's own documentation (links, anchors and
// block classes); `go run ./scripts/docs run` in make test runs its blocks.
func TestRepo(t *testing.T) {
	for _, p := range checkRoot(t, filepath.Join("..", "..")) {
		t.Error(p)
	}
}

// checkRoot is check over the files of the repository at root.
func checkRoot(t *testing.T, root string) []string {
	t.Helper()
	names, err := files(root)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := check(root, names)
	if err != nil {
		t.Fatal(err)
	}
	return problems
}
