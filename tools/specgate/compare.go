package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// change is one change that oasdiff reports (its JSON form).
type change struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	Level     int    `json:"level"`
	Operation string `json:"operation"`
	Path      string `json:"path"`
	Section   string `json:"section"`
}

// oasdiff's levels.
const (
	levelInfo  = 1
	levelWarn  = 2
	levelError = 3
)

// breaking says whether a client written against the base can fail against
// the revision: oasdiff's WARN and ERR, as oasdiff's own version policy counts
// them.
func (c change) breaking() bool { return c.Level >= levelWarn }

// where is the operation of the change, "POST /refresh", or its section
// ("components") when it has none.
func (c change) where() string {
	if c.Path == "" {
		return c.Section
	}
	return strings.TrimSpace(c.Operation + " " + c.Path)
}

func (c change) levelName() string {
	switch {
	case c.Level >= levelError:
		return "error"
	case c.Level == levelWarn:
		return "warning"
	default:
		return "info"
	}
}

// versionChange is the change that reports the raise of info.version itself.
const versionChange = "api-version-changed"

// compare runs oasdiff's changelog on the two specs, with the policy's
// levels, and returns every change but the version's own, ordered by place.
func compare(ctx context.Context, oasdiff []string, baseSpec, revisionSpec []byte, levels map[string]string) ([]change, error) {
	dir, err := os.MkdirTemp("", "specgate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	basePath, revisionPath := filepath.Join(dir, "base.yaml"), filepath.Join(dir, "revision.yaml")
	levelsPath := filepath.Join(dir, "levels.txt")
	var levelLines strings.Builder
	for _, id := range slices.Sorted(maps.Keys(levels)) {
		fmt.Fprintf(&levelLines, "%s %s\n", id, levels[id])
	}
	for path, text := range map[string][]byte{basePath: baseSpec, revisionPath: revisionSpec, levelsPath: []byte(levelLines.String())} {
		if err := os.WriteFile(path, text, 0o600); err != nil {
			return nil, err
		}
	}
	args := append(slices.Clone(oasdiff[1:]), "changelog", basePath, revisionPath, "--format", "json", "--severity-levels", levelsPath)
	cmd := exec.CommandContext(ctx, oasdiff[0], args...) //nolint:gosec // G204: the command is the Makefile's pinned oasdiff
	// In a folder of its own, oasdiff finds no configuration file but ours.
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("oasdiff (%s): %w: %s", strings.Join(oasdiff, " "), err, strings.TrimSpace(stderr.String()))
	}
	var changes []change
	if err := json.Unmarshal(stdout.Bytes(), &changes); err != nil {
		return nil, fmt.Errorf("oasdiff's JSON: %w: %.200s", err, stdout.String())
	}
	changes = slices.DeleteFunc(changes, func(c change) bool { return c.ID == versionChange })
	// Breaking changes first, then by place.
	slices.SortStableFunc(changes, func(a, b change) int {
		if a.breaking() != b.breaking() {
			if a.breaking() {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Operation, b.Operation)
	})
	return changes, nil
}
