package main

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Block classes: the words after a shell block's language in its fence's
// info string (```sh run). Every shell block carries exactly one.
const (
	classRun        = "run"         // run by make test against the demo's data
	classSharedData = "shared-data" // run too, but only where ../shared/data is
	classHardware   = "hardware"    // needs a board, a camera, a flight controller
	classAWS        = "aws"         // needs an AWS account
	classManual     = "manual"      // needs servers of your own, changes the machine, or takes minutes
)

var classes = []string{classRun, classSharedData, classHardware, classAWS, classManual}

// shellLangs are the fence languages that hold commands.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}

// block is one fenced code block of a Markdown file.
type block struct {
	line  int    // line of the opening fence, from 1
	lang  string // first word of the info string
	class string // the class word of a shell block ("" if none or several)
	words []string
	text  string // the content, the fence's indentation taken off
}

// doc is what the checks need of one Markdown file.
type doc struct {
	path    string
	blocks  []block
	anchors map[string]bool // heading slugs and explicit <a id|name> anchors
	links   []link
}

// link is one link target, as written, and the line it is on.
type link struct {
	line   int
	target string
}

var (
	fenceRE    = regexp.MustCompile("^(\\s*)(```+|~~~+)\\s*(.*)$")
	headingRE  = regexp.MustCompile(`^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	inlineCode = regexp.MustCompile("`+[^`]*`+")
	linkRE     = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refDefRE   = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$`)
	anchorRE   = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	mdLinkText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// parse reads the blocks, anchors and links of a Markdown text.
func parse(path, text string) (doc, error) {
	d := doc{path: path, anchors: map[string]bool{}}
	seen := map[string]int{}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		ln := lines[i]
		if m := fenceRE.FindStringSubmatch(ln); m != nil {
			indent, fence, info := len(m[1]), m[2], m[3]
			b := block{line: i + 1, words: strings.Fields(info)}
			if len(b.words) > 0 {
				b.lang = b.words[0]
			}
			var body []string
			closed := false
			for i++; i < len(lines); i++ {
				if t := strings.TrimSpace(lines[i]); len(t) >= len(fence) && strings.Trim(t, fence[:1]) == "" {
					closed = true
					break
				}
				body = append(body, dedent(lines[i], indent))
			}
			if !closed {
				return d, fmt.Errorf("%s:%d: code block never closed", path, b.line)
			}
			b.text = strings.Join(body, "\n") + "\n"
			for _, w := range b.words[min(1, len(b.words)):] {
				for _, c := range classes {
					if w == c {
						if b.class != "" {
							b.class = "several"
						} else {
							b.class = c
						}
					}
				}
			}
			d.blocks = append(d.blocks, b)
			continue
		}
		for _, m := range anchorRE.FindAllStringSubmatch(ln, -1) {
			d.anchors[m[1]] = true
		}
		if m := headingRE.FindStringSubmatch(ln); m != nil {
			s := slug(m[2])
			if n := seen[s]; n > 0 {
				d.anchors[fmt.Sprintf("%s-%d", s, n)] = true
			} else {
				d.anchors[s] = true
			}
			seen[s]++
		}
		if m := refDefRE.FindStringSubmatch(ln); m != nil {
			d.links = append(d.links, link{i + 1, m[1]})
			continue
		}
		for _, m := range linkRE.FindAllStringSubmatch(inlineCode.ReplaceAllString(ln, "``"), -1) {
			d.links = append(d.links, link{i + 1, m[1]})
		}
	}
	return d, nil
}

// dedent takes up to n leading spaces off s.
func dedent(s string, n int) string {
	for ; n > 0 && strings.HasPrefix(s, " "); n-- {
		s = s[1:]
	}
	return s
}

// slug is the anchor GitHub gives a heading: its text (links as their
// text, code spans as their content), lower case, with everything but
// letters, digits, '_', '-' and spaces taken out, and spaces as '-'.
func slug(heading string) string {
	t := mdLinkText.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(t) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// shell reports whether a block holds commands (and so needs a class).
func (b block) shell() bool { return shellLangs[b.lang] }
