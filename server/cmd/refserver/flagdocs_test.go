package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFlagTableInDocs holds the table of flags in docs/refserver.md to what
// refserver -h prints: every flag, its environment variable and its default,
// and no flag the command does not have.
func TestFlagTableInDocs(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-h"}, func(string) string { return "" }, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("refserver -h: %v, want flag.ErrHelp", err)
	}
	want := parseUsage(stderr.String())
	if len(want) == 0 {
		t.Fatalf("refserver -h printed no flags:\n%s", stderr.String())
	}
	page := filepath.Join("..", "..", "..", "docs", "refserver.md")
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	got := parseFlagTable(string(raw))
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("docs/refserver.md: flag -%s is missing from the table (refserver -h: env %q, default %q)", name, w.env, w.def)
		case g != w:
			t.Errorf("docs/refserver.md: flag -%s: the table says env %q, default %q; refserver -h says env %q, default %q", name, g.env, g.def, w.env, w.def)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/refserver.md: the table has -%s, which refserver -h does not list", name)
		}
	}
}

// flagDoc is what the table, and refserver -h, say of a flag.
type flagDoc struct{ env, def string }

var (
	usageFlagRE    = regexp.MustCompile(`^  -([a-z0-9-]+)`)
	usageEnvRE     = regexp.MustCompile(`\(env ([A-Z0-9_]+)\)`)
	usageDefaultRE = regexp.MustCompile(`\(default "?([^")]*)"?\)\s*$`)
	tableRowRE     = regexp.MustCompile("^\\| `-([a-z0-9-]+)` \\| (?:`([A-Z0-9_]+)`)? *\\| (?:`([^`]*)`)? *\\|")
)

// parseUsage reads the flags of a flag.FlagSet's usage text.
func parseUsage(usage string) map[string]flagDoc {
	flags := map[string]flagDoc{}
	var name, text string
	flush := func() {
		if name == "" {
			return
		}
		var d flagDoc
		if m := usageEnvRE.FindStringSubmatch(text); m != nil {
			d.env = m[1]
		}
		if m := usageDefaultRE.FindStringSubmatch(text); m != nil {
			d.def = m[1]
		}
		flags[name] = d
	}
	for _, line := range strings.Split(usage, "\n") {
		if m := usageFlagRE.FindStringSubmatch(line); m != nil {
			flush()
			name, text = m[1], ""
			continue
		}
		text += " " + strings.TrimSpace(line)
	}
	flush()
	return flags
}

// parseFlagTable reads the rows of the table of flags:
// | `-flag` | `ENV` | `default` | meaning |.
func parseFlagTable(page string) map[string]flagDoc {
	flags := map[string]flagDoc{}
	for _, line := range strings.Split(page, "\n") {
		if m := tableRowRE.FindStringSubmatch(line); m != nil {
			flags[m[1]] = flagDoc{env: m[2], def: m[3]}
		}
	}
	return flags
}
