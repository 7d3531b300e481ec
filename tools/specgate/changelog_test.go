package main

import (
	"strings"
	"testing"
)

// A section replaces the one of its version and keeps the others; a new
// version's section goes first. What comes before the sections stays.
func TestMergeChangelog(t *testing.T) {
	t.Parallel()
	const header = "# Title\n\nwords\n"
	old := header + "\n## 2.0.0\n\nsecond\n\n## 1.0.0\n\nfirst, by hand\n"
	got := string(mergeChangelog([]byte(old), "2.0.0", "## 2.0.0\n\nsecond, again\n"))
	want := header + "\n## 2.0.0\n\nsecond, again\n\n## 1.0.0\n\nfirst, by hand\n"
	if got != want {
		t.Errorf("replace:\n%s\nwant:\n%s", got, want)
	}
	got = string(mergeChangelog([]byte(got), "3.0.0", "## 3.0.0\n\nthird\n"))
	if !strings.HasPrefix(got, header+"\n## 3.0.0\n\nthird\n\n## 2.0.0\n") || !strings.HasSuffix(got, "## 1.0.0\n\nfirst, by hand\n") {
		t.Errorf("add:\n%s", got)
	}
	if got := string(mergeChangelog(nil, "1.0.0", "## 1.0.0\n\nfirst\n")); got != defaultPreamble+"\n## 1.0.0\n\nfirst\n" {
		t.Errorf("new file:\n%s", got)
	}
}
