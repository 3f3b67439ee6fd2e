package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestDocsLinks: every relative link in README.md and docs/ points at a
// file that exists, and its #anchor, if any, at a heading of that file
// (GitHub's anchors: lower case, punctuation dropped, spaces as dashes).
func TestDocsLinks(t *testing.T) {
	pages, _ := filepath.Glob("docs/*.md")
	pages = append(pages, "README.md")
	if len(pages) < 2 {
		t.Fatalf("no docs/ pages beside README.md: %v", pages)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	checked := 0
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(withoutCode(string(data)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			checked++
			info, err := os.Stat(path)
			if err != nil {
				t.Errorf("%s: link %q: no such file %s", page, target, path)
				continue
			}
			if anchor == "" {
				continue
			}
			if info.IsDir() || !anchors(t, path)[anchor] {
				t.Errorf("%s: link %q: %s has no heading #%s", page, target, path, anchor)
			}
		}
	}
	if checked == 0 {
		t.Error("no relative link found: the check checked nothing")
	}
}

// withoutCode drops fenced and indented code blocks and inline code, where
// "](...)" is not a link.
func withoutCode(md string) string {
	var kept []string
	for _, line := range strings.Split(withoutFences(md), "\n") {
		if strings.HasPrefix(line, "    ") && !strings.HasPrefix(strings.TrimSpace(line), "-") {
			continue
		}
		kept = append(kept, inlineCode.ReplaceAllString(line, ""))
	}
	return strings.Join(kept, "\n")
}

var inlineCode = regexp.MustCompile("`[^`]*`")

// anchors are the heading anchors of the markdown file at path.
func anchors(t *testing.T, path string) map[string]bool {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, line := range strings.Split(withoutFences(string(data)), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		found[b.String()] = true
	}
	return found
}

func withoutFences(md string) string {
	var kept []string
	fenced := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		} else if !fenced {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}
