package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// files are the Markdown files the checks cover, relative to root:
// README.md, CONTRIBUTING.md and docs/*.md.
func files(root string) ([]string, error) {
	names := []string{"README.md", "CONTRIBUTING.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	sort.Strings(more)
	for _, m := range more {
		names = append(names, filepath.Join("docs", filepath.Base(m)))
	}
	return names, nil
}

// loader parses Markdown files once each, by path relative to root.
type loader struct {
	root string
	docs map[string]doc
}

func (l *loader) load(rel string) (doc, error) {
	if d, ok := l.docs[rel]; ok {
		return d, nil
	}
	b, err := os.ReadFile(filepath.Join(l.root, rel))
	if err != nil {
		return doc{}, err
	}
	d, err := parse(rel, string(b))
	if err != nil {
		return doc{}, err
	}
	l.docs[rel] = d
	return d, nil
}

// check returns every problem of the files: a relative link (or #anchor)
// that does not resolve, a link out of the repository, a shell block with
// no class or several.
func check(root string, names []string) ([]string, error) {
	l := &loader{root: root, docs: map[string]doc{}}
	var problems []string
	for _, name := range names {
		d, err := l.load(name)
		if err != nil {
			return nil, err
		}
		for _, b := range d.blocks {
			if !b.shell() {
				continue
			}
			switch b.class {
			case "":
				problems = append(problems, fmt.Sprintf("%s:%d: shell block with no class: add one of %s to its fence (```%s run): see CONTRIBUTING.md", name, b.line, strings.Join(classes, ", "), b.lang))
			case "several":
				problems = append(problems, fmt.Sprintf("%s:%d: shell block with several classes (%s): keep one", name, b.line, strings.Join(b.words[1:], " ")))
			}
		}
		for _, k := range d.links {
			if p := l.resolve(name, k.target); p != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: link %s: %s", name, k.line, k.target, p))
			}
		}
	}
	return problems, nil
}

// resolve says what is wrong with a link target written in file from
// (relative to root), or "" when it resolves. Links with a scheme
// (https:, mailto:) are not followed.
func (l *loader) resolve(from, target string) string {
	if u, err := url.Parse(target); err == nil && u.Scheme != "" {
		return ""
	}
	path, anchor, _ := strings.Cut(target, "#")
	path, err := url.PathUnescape(path)
	if err != nil {
		return "not a valid path"
	}
	rel := from
	if path != "" {
		if strings.HasPrefix(path, "/") {
			return "absolute path: write it relative to " + from
		}
		rel = filepath.Clean(filepath.Join(filepath.Dir(from), path))
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return "outside the repository"
		}
		if _, err := os.Stat(filepath.Join(l.root, rel)); err != nil {
			return "no such file or folder"
		}
	}
	if anchor == "" {
		return ""
	}
	if !strings.HasSuffix(rel, ".md") {
		return "an anchor in a file that is not Markdown"
	}
	d, err := l.load(rel)
	if err != nil {
		return err.Error()
	}
	if !d.anchors[anchor] {
		return fmt.Sprintf("no heading with anchor #%s in %s", anchor, rel)
	}
	return ""
}
