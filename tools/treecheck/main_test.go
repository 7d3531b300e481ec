package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A repository with one of each thing treecheck refuses, and one of each
// it lets be: every refusal names its file, and nothing else is refused.
func TestTreecheck(t *testing.T) {
	dir := t.TempDir()
	files := map[string]struct {
		text string
		mode os.FileMode
	}{
		".gitignore":          {"tool\n!tool/\n", 0o644},
		"go.mod":              {"module example.com/m\n\ngo 1.26\n", 0o644},
		"cmd/tool/main.go":    {"package main\n\nfunc main() {}\n", 0o644},
		"cmd/loose/main.go":   {"package main\n\nfunc main() {}\n", 0o644},
		"lib/lib.go":          {"package lib\n", 0o644},
		"run.sh":              {"#!/bin/sh\necho hi\n", 0o755},
		"no-shebang":          {"echo hi\n", 0o755},
		"elf":                 {"\x7fELF\x02\x01\x01", 0o644},
		"big.bin":             {strings.Repeat("x", 3<<20), 0o644},
		"allowed/big.js":      {strings.Repeat("y", 3<<20), 0o644},
		"small/picture.png":   {"\x89PNG\r\n\x1a\n", 0o644},
		"cmd/tool/README.txt": {"the tool\n", 0o644},
	}
	for path, f := range files {
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(f.text), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, dir, "init", "-q")
	gitIn(t, dir, "add", "-A")
	t.Chdir(dir)

	var stderr bytes.Buffer
	problems, err := run(t.Context(), []string{"-allow", "allowed/big.js"}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	report := strings.Join(problems, "\n")
	for _, want := range []string{
		"no-shebang: tracked with the executable bit",
		"elf: a binary executable",
		"big.bin: 3145728 bytes",
		"loose: where go build puts the command loose",
		filepath.Join("cmd", "loose", "loose") + ": where go build puts",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("no problem %q in:\n%s", want, report)
		}
	}
	if len(problems) != 5 {
		t.Errorf("%d problems, want 5:\n%s", len(problems), report)
	}
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
