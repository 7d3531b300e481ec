package sendmessage_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// docPages are the pages whose links and anchors are checked: the front
// door, the benchmarks and every page under docs/.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no pages under docs/")
	}
	return append([]string{"README.md", "BENCHMARKS.md"}, pages...)
}

// TestDocLinks follows every relative link of the docs: the file or folder
// it names must exist, and a #fragment must be a heading of the page it
// points to, by GitHub's anchor rules. Links with a scheme (https:, mailto:)
// are not followed.
func TestDocLinks(t *testing.T) {
	t.Parallel()
	anchors := map[string]map[string]bool{} // by page path, cleaned
	anchorsOf := func(page string) (map[string]bool, error) {
		if a, ok := anchors[page]; ok {
			return a, nil
		}
		doc, err := readMarkdown(page)
		if err != nil {
			return nil, err
		}
		anchors[page] = doc.anchors
		return doc.anchors, nil
	}
	for _, page := range docPages(t) {
		doc, err := readMarkdown(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range doc.links {
			if problem := checkLink(page, l.target, anchorsOf); problem != "" {
				t.Errorf("%s:%d: broken link %q: %s", page, l.line, l.target, problem)
			}
		}
	}
}

// checkLink says what is wrong with target, a link of page; "" when nothing.
func checkLink(page, target string, anchorsOf func(string) (map[string]bool, error)) string {
	if hasScheme(target) {
		return ""
	}
	path, fragment, _ := strings.Cut(target, "#")
	dest := page
	if path != "" {
		if strings.HasPrefix(path, "/") {
			return "absolute paths break outside the repository's own site: link relative to the page"
		}
		dest = filepath.Clean(filepath.Join(filepath.Dir(page), filepath.FromSlash(path)))
		if dest == ".." || strings.HasPrefix(dest, ".."+string(filepath.Separator)) {
			return "it leaves the repository"
		}
		if _, err := os.Stat(dest); err != nil {
			return fmt.Sprintf("no file %s", filepath.ToSlash(dest))
		}
	}
	if fragment == "" {
		return ""
	}
	if !strings.HasSuffix(dest, ".md") {
		return fmt.Sprintf("#%s on %s, which is not a Markdown page", fragment, filepath.ToSlash(dest))
	}
	anchors, err := anchorsOf(dest)
	if err != nil {
		return err.Error()
	}
	if !anchors[fragment] {
		return fmt.Sprintf("%s has no heading with the anchor #%s", filepath.ToSlash(dest), fragment)
	}
	return ""
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

func hasScheme(target string) bool { return schemeRE.MatchString(target) }

// link is a link target and the line it is on.
type link struct {
	target string
	line   int
}

// markdown is what the checks need of a page: its links and the anchors of
// its headings.
type markdown struct {
	links   []link
	anchors map[string]bool
}

var (
	headingRE = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	fenceRE   = regexp.MustCompile("^ {0,3}(```+|~~~+)")
	// inlineLinkRE finds [text](target) and ![alt](target), with an
	// optional title; the target may be in angle brackets.
	inlineLinkRE = regexp.MustCompile(`\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+"[^"]*")?\s*\)`)
	// refDefRE finds a reference definition: [label]: target.
	refDefRE   = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
	codeSpanRE = regexp.MustCompile("(`+)(.+?)(`+)")
)

// readMarkdown reads a page's links and heading anchors, skipping fenced
// code blocks and code spans.
func readMarkdown(path string) (markdown, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return markdown{}, fmt.Errorf("read %s: %w", path, err)
	}
	doc := markdown{anchors: map[string]bool{}}
	seen := map[string]int{}
	var fence string
	scanner := bufio.NewScanner(bytes.NewReader(raw))
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Text()
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			switch {
			case fence == "":
				fence = m[1]
			case strings.HasPrefix(m[1], fence[:1]) && len(m[1]) >= len(fence):
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			anchor := gitHubAnchor(m[2])
			if k := seen[anchor]; k > 0 {
				doc.anchors[fmt.Sprintf("%s-%d", anchor, k)] = true
			} else {
				doc.anchors[anchor] = true
			}
			seen[anchor]++
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			doc.anchors[m[1]] = true
		}
		text := codeSpanRE.ReplaceAllString(line, "``")
		for _, m := range inlineLinkRE.FindAllStringSubmatch(text, -1) {
			doc.links = append(doc.links, link{target: strings.Trim(m[1], "<>"), line: n})
		}
		if m := refDefRE.FindStringSubmatch(text); m != nil {
			doc.links = append(doc.links, link{target: strings.Trim(m[1], "<>"), line: n})
		}
	}
	if err := scanner.Err(); err != nil {
		return markdown{}, fmt.Errorf("read %s: %w", path, err)
	}
	return doc, nil
}

var (
	// inlineLinkTextRE: a link or an image keeps only its text.
	inlineLinkTextRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTagRE        = regexp.MustCompile(`<[^>]+>`)
)

// gitHubAnchor is the anchor GitHub gives a heading: the text as rendered,
// lower-cased, every space a '-', and every character but letters, digits,
// '-' and '_' dropped. (A repeated heading gets -1, -2...: readMarkdown adds
// those.)
func gitHubAnchor(heading string) string {
	text := inlineLinkTextRE.ReplaceAllString(heading, "$1")
	text = htmlTagRE.ReplaceAllString(text, "")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestGitHubAnchor(t *testing.T) {
	t.Parallel()
	for heading, want := range map[string]string{
		"Two commands":                              "two-commands",
		"For administrators: `sendmsg`":             "for-administrators-sendmsg",
		"Does the mock match your Horizon?":         "does-the-mock-match-your-horizon",
		"The breaking-change gate: `make breaking`": "the-breaking-change-gate-make-breaking",
		"Login, refresh, logout":                    "login-refresh-logout",
		"Testing automation: the reference server":  "testing-automation-the-reference-server",
		"How close to Horizon 8":                    "how-close-to-horizon-8",
		"`sendmsg` over HTTPS":                      "sendmsg-over-https",
		"Earlier: 2026-11-27 11:58 UTC, one_thing":  "earlier-2026-11-27-1158-utc-one_thing",
		"See [the page](docs/x.md) and *emphasis*":  "see-the-page-and-emphasis",
		"Horizon Send Message To Sessions — Go":     "horizon-send-message-to-sessions--go",
		"Limits of a rule":                          "limits-of-a-rule",
	} {
		if got := gitHubAnchor(heading); got != want {
			t.Errorf("gitHubAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// TestCheckLinkFindsBrokenLinks: the checker itself finds what it is
// for, on a page written here: a missing file, a missing anchor, an anchor
// on a page elsewhere, and nothing inside code.
func TestCheckLinkFindsBrokenLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("docs/other.md", "# Other page\n\n## Part one\n\n## Part one\n")
	page := write("README.md", strings.Join([]string{
		"# Front door",                            // 1
		"[ok](docs/other.md#part-one-1)",          // 2
		"[gone](docs/missing.md)",                 // 3
		"[no anchor](docs/other.md#part-two)",     // 4
		"[here](#front-door) [there](#nowhere)",   // 5
		"```",                                     // 6
		"[in code](docs/none.md)",                 // 7
		"```",                                     // 8
		"`[span](docs/none.md)` [web](https://x)", // 9
		"[ref]: docs/nothing.md",                  // 10
	}, "\n"))
	doc, err := readMarkdown(page)
	if err != nil {
		t.Fatal(err)
	}
	anchorsOf := func(p string) (map[string]bool, error) {
		d, err := readMarkdown(p)
		return d.anchors, err
	}
	var got []string
	for _, l := range doc.links {
		if problem := checkLink(page, l.target, anchorsOf); problem != "" {
			got = append(got, fmt.Sprintf("%d %s", l.line, l.target))
		}
	}
	want := []string{"3 docs/missing.md", "4 docs/other.md#part-two", "5 #nowhere", "10 docs/nothing.md"}
	if !slices.Equal(got, want) {
		t.Errorf("broken links found %q, want %q", got, want)
	}
}
