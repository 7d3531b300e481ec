package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// defaultPreamble opens a changelog that does not exist yet.
const defaultPreamble = "# Changelog of the contract\n"

// writeChangelog writes oasdiff's changelog, in the form of
// changelog.md.tmpl, into the changelog at path as the section of the
// spec's version, replacing that section and keeping the others.
func (c comparison) writeChangelog(ctx context.Context, path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var section bytes.Buffer
	if _, err := c.oasdiffRun(ctx, &section, "changelog", "--format", "markdown", "--template", filepath.Join(c.templates, "changelog.md.tmpl")); err != nil {
		return err
	}
	text := strings.TrimSpace(section.String())
	if text == "" {
		fmt.Fprintf(c.stdout, "changelog: no change against %s; %s left as it is\n", c.baseVersion, path)
		return nil
	}
	if err := os.WriteFile(path, mergeChangelog(old, c.revVersion, text+"\n"), 0o644); err != nil { //nolint:gosec // G306: a committed document
		return err
	}
	fmt.Fprintf(c.stdout, "changelog: wrote the section %s (changes since %s) into %s\n", c.revVersion, c.baseVersion, path)
	return nil
}

// mergeChangelog replaces or adds the section of version in old; a new
// section goes first. What comes before the first section stays.
func mergeChangelog(old []byte, version, section string) []byte {
	preamble, rest := string(old), ""
	if i := bytes.Index(old, []byte("\n## ")); i >= 0 {
		preamble, rest = string(old[:i+1]), string(old[i+1:])
	}
	if strings.TrimSpace(preamble) == "" {
		preamble = defaultPreamble
	}
	var sections []string
	if rest != "" {
		for _, s := range strings.SplitAfter(rest, "\n## ") {
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
	return []byte(strings.TrimRight(preamble, "\n") + "\n\n" + strings.Join(sections, "\n"))
}

// hasSection says whether the changelog at path has a section for version.
func hasSection(path, version string) bool {
	text, err := os.ReadFile(path)
	return err == nil && bytes.Contains(text, []byte("\n## "+version+"\n"))
}
