package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// git runs git commands in the repository; tests give it another folder.
type git interface {
	run(ctx context.Context, args ...string) (string, error)
}

// gitRunner runs git in the current directory.
type gitRunner struct{ dir string }

func (g gitRunner) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// gitLine runs git and returns its output without the surrounding blanks.
func gitLine(ctx context.Context, g git, args ...string) (string, error) {
	out, err := g.run(ctx, args...)
	return strings.TrimSpace(out), err
}

// base is what the spec is compared with: short, the abbreviated name of
// the commit whose spec it is, is empty when the spec has no earlier version.
type base struct {
	description string
	short       string
	spec        []byte
}

// releasePrefix starts the tag of a release of the contract: spec/v1.2.3.
const releasePrefix = "spec/v"

// mainRefs are where the main line is looked for, in order.
var mainRefs = []string{"refs/heads/main", "refs/remotes/origin/main"}

// resolveBase finds the base of the comparison for the spec at path, whose
// text in the work tree is revision; override is a revision given by hand.
func resolveBase(ctx context.Context, g git, path string, revision []byte, override string) (base, error) {
	if override != "" {
		rev, spec, err := specAt(ctx, g, override, path)
		if err != nil {
			return base{}, fmt.Errorf("BASE=%s: %w", override, err)
		}
		return base{description: fmt.Sprintf("%s at %s (given)", path, override), short: rev, spec: spec}, nil
	}
	if b, err := lastRelease(ctx, g, path); err != nil || b.short != "" {
		return b, err
	}

	// The fork point with main.
	fork, forkName := "HEAD", "HEAD (no main branch)"
	for _, ref := range mainRefs {
		if _, err := gitLine(ctx, g, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
			continue
		}
		var err error
		if fork, err = gitLine(ctx, g, "merge-base", "HEAD", ref); err != nil {
			return base{}, err
		}
		forkName = "the fork point with " + strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/remotes/")
		break
	}
	short, err := gitLine(ctx, g, "rev-parse", "--short", fork)
	if err != nil {
		return base{}, err
	}
	_, atFork, err := specAt(ctx, g, fork, path)
	switch {
	case errors.Is(err, errNoSpec):
		return base{description: fmt.Sprintf("none: %s (%s) has no %s", forkName, short, path)}, nil
	case err != nil:
		return base{}, err
	case !bytes.Equal(atFork, revision):
		return base{description: fmt.Sprintf("%s at %s (%s): the changes made since", path, forkName, short), short: short, spec: atFork}, nil
	}
	return previousVersion(ctx, g, path, fork, fmt.Sprintf("%s %s", forkName, short), atFork)
}

// lastRelease is the spec at the newest tag spec/vX.Y.Z that HEAD contains;
// its short is empty when there is none.
func lastRelease(ctx context.Context, g git, path string) (base, error) {
	tags, err := gitLine(ctx, g, "tag", "--merged", "HEAD", "--list", releasePrefix+"*")
	if err != nil {
		return base{}, err
	}
	var releases []string
	for _, tag := range strings.Fields(tags) {
		if v, ok := strings.CutPrefix(tag, releasePrefix); ok && strictVersion.MatchString(v) {
			releases = append(releases, tag)
		}
	}
	if len(releases) == 0 {
		return base{}, nil
	}
	slices.SortFunc(releases, func(a, b string) int {
		return compareVersions(strings.TrimPrefix(a, releasePrefix), strings.TrimPrefix(b, releasePrefix))
	})
	tag := releases[len(releases)-1]
	rev, spec, err := specAt(ctx, g, tag, path)
	if err != nil {
		return base{}, fmt.Errorf("release tag %s: %w", tag, err)
	}
	return base{description: fmt.Sprintf("%s at %s, the last release", path, tag), short: rev, spec: spec}, nil
}

// previousVersion is the previous version of the contract when nothing
// changed since the fork point: the newest spec up to it, along first
// parents, with another info.version than atFork's. So a clean tree checks
// everything its version changed, whether it landed in one commit, several,
// or a merge.
func previousVersion(ctx context.Context, g git, path, fork, forkName string, atFork []byte) (base, error) {
	current, err := specVersion(atFork)
	if err != nil {
		return base{}, fmt.Errorf("%s at %s: %w", path, forkName, err)
	}
	commits, err := gitLine(ctx, g, "log", "--first-parent", "--format=%H", fork, "--", path)
	if err != nil {
		return base{}, err
	}
	for _, commit := range strings.Fields(commits) {
		rev, spec, err := specAt(ctx, g, commit, path)
		if errors.Is(err, errNoSpec) {
			break // removed here: nothing older counts
		}
		if err != nil {
			return base{}, err
		}
		if v, err := specVersion(spec); err == nil && v == current {
			continue
		}
		return base{description: fmt.Sprintf("%s at %s, the previous version (before %s, up to %s)", path, rev, current, forkName), short: rev, spec: spec}, nil
	}
	if shallow, _ := gitLine(ctx, g, "rev-parse", "--is-shallow-repository"); shallow == "true" {
		return base{}, fmt.Errorf("the history is too shallow to see a version of %s before %s: fetch more of it, or give BASE", path, current)
	}
	return base{description: fmt.Sprintf("none: %s has had one version, %s, up to %s", path, current, forkName)}, nil
}

// errNoSpec says that a revision has no spec at the path.
var errNoSpec = errors.New("no spec at this revision")

// specAt returns the abbreviated name of the commit that rev names and the
// spec at path in it.
func specAt(ctx context.Context, g git, rev, path string) (string, []byte, error) {
	commit, err := gitLine(ctx, g, "rev-parse", "--verify", "--quiet", "--short", rev+"^{commit}")
	if err != nil {
		return "", nil, fmt.Errorf("%s is not a commit", rev)
	}
	if _, err := gitLine(ctx, g, "cat-file", "-e", commit+":"+path); err != nil {
		return "", nil, fmt.Errorf("%s:%s: %w", rev, path, errNoSpec)
	}
	text, err := g.run(ctx, "show", commit+":"+path)
	if err != nil {
		return "", nil, err
	}
	return commit, []byte(text), nil
}
