package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// comparison is the spec in the work tree against its base.
type comparison struct {
	gate
	// base is the base spec as oasdiff reads it from git: <commit>:<path>.
	base                    string
	baseVersion, revVersion string
}

// check is make breaking: oasdiff's changelog, its versioning policy and its
// breaking changes less the acknowledged ones, then the version rule.
func (c comparison) check(ctx context.Context) error {
	fmt.Fprintf(c.stdout, "%s: info.version %s, base %s\n", c.spec, c.revVersion, c.baseVersion)
	var problems []string

	// Every change; failing on INFO says whether there is any.
	changed, err := c.oasdiffRun(ctx, c.stdout, "changelog", "--fail-on", "INFO", "--format", "singleline")
	if err != nil {
		return err
	}

	// A breaking change, acknowledged or not, needs a new major version.
	// oasdiff says its verdict on stderr; its report is the one above.
	violated, err := c.oasdiffRun(ctx, io.Discard, "breaking", "--fail-on", "MISSING-VERSION-BUMP", "--format", "json")
	if err != nil {
		return err
	}
	if violated {
		problems = append(problems, fmt.Sprintf("oasdiff's versioning policy, above: a breaking change needs a new major version, %s", c.nextMajor()))
	}

	// Breaking changes that no line of this version's file acknowledges,
	// written as the lines that would.
	ackFile := filepath.Join(c.acknowledged, c.revVersion+".md")
	args := []string{"breaking", "--fail-on", "WARN", "--format", "markdown", "--template", filepath.Join(c.templates, "acknowledge.md.tmpl")}
	if _, err := os.Stat(ackFile); err == nil {
		args = append(args, "--err-ignore", ackFile, "--warn-ignore", ackFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var unacknowledged bytes.Buffer
	refused, err := c.oasdiffRun(ctx, &unacknowledged, args...)
	if err != nil {
		return err
	}
	if refused {
		problems = append(problems, fmt.Sprintf("breaking changes that %s does not acknowledge", ackFile))
		fmt.Fprintf(c.stdout, "Not acknowledged: if the break is worth it, add these lines to %s, under a paragraph that says why clients must follow:\n%s",
			filepath.Join(c.acknowledged, c.nextMajor()+".md"), unacknowledged.String())
	} else {
		fmt.Fprintf(c.stdout, "breaking changes not acknowledged in %s: none\n", ackFile)
	}

	if p := versionRule(c.baseVersion, c.revVersion, changed); p != "" {
		problems = append(problems, p)
	}
	if changed && !hasSection(filepath.Join(filepath.Dir(c.spec), "CHANGELOG.md"), c.revVersion) {
		fmt.Fprintf(c.stdout, "note: %s has no section %s: 'make changelog' writes it\n", filepath.Join(filepath.Dir(c.spec), "CHANGELOG.md"), c.revVersion)
	}
	if len(problems) == 0 {
		fmt.Fprintf(c.stdout, "breaking: ok (info.version %s against %s)\n", c.revVersion, c.baseVersion)
		return nil
	}
	fmt.Fprintln(c.stdout, "breaking: FAILED")
	for _, p := range problems {
		fmt.Fprintf(c.stdout, "  - %s\n", p)
	}
	return errGate
}

// nextMajor is the version a breaking change needs: the revision's, when
// it already raised the major version.
func (c comparison) nextMajor() string {
	if next := nextMajor(c.baseVersion); compareVersions(c.revVersion, next) >= 0 {
		return c.revVersion
	}
	return nextMajor(c.baseVersion)
}

// oasdiffRun runs oasdiff with args, the configuration, the base and the
// spec, and says whether it failed as --fail-on asks (exit status 1). Its
// report goes to out, its messages to stderr.
func (c comparison) oasdiffRun(ctx context.Context, out io.Writer, args ...string) (bool, error) {
	args = append(slices.Clone(args), "--config", c.config, c.base, c.spec)
	fmt.Fprintf(c.stdout, "$ oasdiff %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, c.oasdiff[0], append(slices.Clone(c.oasdiff[1:]), args...)...) //nolint:gosec // G204: the Makefile's pinned oasdiff
	cmd.Stdout, cmd.Stderr = out, c.stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return true, nil
	default:
		return false, fmt.Errorf("oasdiff (%s) %s: %w", strings.Join(c.oasdiff, " "), args[0], err)
	}
}
