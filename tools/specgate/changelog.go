package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

const changelogHeader = `# Changelog of the contract

The changes of ` + "`api/openapi.yaml`" + ` that a client can see, one section per
` + "`info.version`" + `, newest first. ` + "`make changelog`" + ` writes the section of the
spec's version from the comparison that ` + "`make breaking`" + ` makes, as oasdiff
reports it; the sections of other versions stay as they are.
`

// writeChangelog writes v into the changelog at path as the section of the
// revision's version, replacing that section and keeping the others.
func writeChangelog(path string, v verdict, stdout io.Writer) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(v.changes) == 0 {
		fmt.Fprintf(stdout, "changelog: no change against %s; %s left as it is\n", v.baseVersion, path)
		return nil
	}
	text := mergeChangelog(old, v.revVersion, v.section())
	if err := os.WriteFile(path, text, 0o644); err != nil { //nolint:gosec // G306: a committed document
		return err
	}
	fmt.Fprintf(stdout, "changelog: wrote the section %s (%d change(s) since %s) into %s\n", v.revVersion, len(v.changes), v.baseVersion, path)
	if v.failed() {
		fmt.Fprintf(stdout, "changelog: note that 'make breaking' refuses this spec: %s\n", strings.Join(v.problems, "; "))
	}
	return nil
}

// section is the changelog's section for the revision's version.
func (v verdict) section() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\nChanges since %s.\n", v.revVersion, v.baseVersion)
	var breaking, other []judged
	for _, c := range v.changes {
		if c.breaking() {
			breaking = append(breaking, c)
		} else {
			other = append(other, c)
		}
	}
	if len(breaking) > 0 {
		b.WriteString("\nBreaking:\n\n")
		for _, c := range breaking {
			fmt.Fprintf(&b, "- `%s`: %s (`%s`).", c.where(), c.Text, c.ID)
			if c.ack != nil {
				fmt.Fprintf(&b, " Why: %s", oneLine(c.ack.Reason))
			}
			b.WriteString("\n")
		}
	}
	if len(other) > 0 {
		b.WriteString("\nOther changes:\n\n")
		for _, c := range other {
			fmt.Fprintf(&b, "- `%s`: %s (`%s`)\n", c.where(), c.Text, c.ID)
		}
	}
	return b.String()
}

// mergeChangelog replaces or adds the section of version in old, under the
// header; a new section goes first.
func mergeChangelog(old []byte, version, section string) []byte {
	var sections []string
	if i := bytes.Index(old, []byte("\n## ")); i >= 0 {
		for _, s := range strings.SplitAfter(string(old[i+1:]), "\n## ") {
			s = strings.TrimSuffix(s, "## ")
			if !strings.HasPrefix(s, "## ") {
				s = "## " + s
			}
			sections = append(sections, strings.TrimRight(s, "\n")+"\n")
		}
	}
	replaced := false
	for i, s := range sections {
		title, _, _ := strings.Cut(strings.TrimPrefix(s, "## "), "\n")
		if strings.TrimSpace(title) == version {
			sections[i], replaced = section, true
		}
	}
	if !replaced {
		sections = append([]string{section}, sections...)
	}
	return []byte(changelogHeader + "\n" + strings.Join(sections, "\n"))
}

// hasSection says whether the changelog at path has a section for version.
func hasSection(path, version string) bool {
	text, err := os.ReadFile(path)
	return err == nil && bytes.Contains(text, []byte("\n## "+version+"\n"))
}
