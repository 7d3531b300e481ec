// Command specgate is the breaking-change gate of the contract: it compares
// api/openapi.yaml with its version at a base, using oasdiff, prints the
// changes, and fails on a breaking change that api/breaking-changes.yaml does
// not acknowledge, or on an info.version that the changes do not allow. With
// -changelog it writes the same comparison into a changelog instead.
//
//	specgate -oasdiff 'go run github.com/oasdiff/oasdiff@vX.Y.Z' [-base REV] [-changelog api/CHANGELOG.md]
//
// The base, unless -base names a git revision: the newest tag spec/vX.Y.Z
// that HEAD contains, the last release of the contract; else, with F the fork
// point of HEAD and main (git merge-base HEAD main; HEAD where there is no
// main), the spec at F when the work tree's spec differs from it (a branch's
// or the work tree's own changes), or else the previous version of the
// contract: the newest spec up to F, along first parents, with another
// info.version (on a clean main, everything the current version changed).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errGate) {
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "specgate:", err)
		os.Exit(2)
	}
}

// errGate is the gate's refusal; the report has said why.
var errGate = errors.New("the gate refuses the spec")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("specgate", flag.ContinueOnError)
	flags.SetOutput(stderr)
	spec := flags.String("spec", "api/openapi.yaml", "the spec in the work tree, relative to the repository's top")
	policyFile := flags.String("policy", "api/breaking-changes.yaml", "the gate's policy: oasdiff levels and acknowledged breaking changes")
	oasdiff := flags.String("oasdiff", "", "the command that runs oasdiff, such as 'go run github.com/oasdiff/oasdiff@v1.38.0'")
	baseRev := flags.String("base", "", "compare with the spec at this git revision instead of the default base")
	changelog := flags.String("changelog", "", "write the comparison into this changelog instead of judging it")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	// The changelog that make breaking reminds of.
	changelogPath := filepath.Join(filepath.Dir(*spec), "CHANGELOG.md")
	command := strings.Fields(*oasdiff)
	if len(command) == 0 {
		return errors.New("-oasdiff is required")
	}
	policy, err := loadPolicy(*policyFile)
	if err != nil {
		return err
	}
	revision, err := os.ReadFile(*spec)
	if err != nil {
		return err
	}
	base, err := resolveBase(ctx, gitRunner{}, *spec, revision, *baseRev)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "base: %s\n", base.description)
	if base.spec == nil {
		fmt.Fprintln(stdout, "breaking: nothing to compare: the spec has no earlier version")
		return nil
	}
	changes, err := compare(ctx, command, base.spec, revision, policy.Levels)
	if err != nil {
		return err
	}
	baseVersion, err := specVersion(base.spec)
	if err != nil {
		return fmt.Errorf("the base spec: %w", err)
	}
	revVersion, err := specVersion(revision)
	if err != nil {
		return fmt.Errorf("%s: %w", *spec, err)
	}
	v := judge(changes, baseVersion, revVersion, policy, *policyFile)
	if *changelog != "" {
		return writeChangelog(*changelog, v, stdout)
	}
	v.report(stdout, *spec, *policyFile)
	if len(v.changes) > 0 && !hasSection(changelogPath, revVersion) {
		fmt.Fprintf(stdout, "note: %s has no section %s: 'make changelog' writes it\n", changelogPath, revVersion)
	}
	if v.failed() {
		return errGate
	}
	return nil
}
