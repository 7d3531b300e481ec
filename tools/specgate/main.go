// Command specgate is the project's glue around oasdiff for the contract's
// breaking-change gate (make breaking) and its changelog (make changelog).
//
//	specgate -oasdiff 'go run github.com/oasdiff/oasdiff@vX.Y.Z' [-base REV] [-changelog api/CHANGELOG.md]
//
// oasdiff does the comparing, with the contract's configuration
// (api/oasdiff.yaml): the level of each check, the breaking changes made on
// purpose (its ignore files), failing on a level, the rule that a breaking
// change raises the major version, and the changelog's text. specgate adds
// only what oasdiff cannot do (docs/contract.md):
//   - the base, chosen from git: the newest tag spec/vX.Y.Z that HEAD
//     contains; else, with F the fork point of HEAD and main (HEAD where there
//     is no main), F's spec when the work tree's differs from it; else the
//     previous version of the contract, the newest spec up to F, along first
//     parents, with another info.version;
//   - acknowledgements of the spec's own version only: oasdiff is given
//     api/breaking-changes/<info.version>.md, never the files of other versions;
//   - the rest of the versioning rule: info.version is MAJOR.MINOR.PATCH, never
//     goes down, and any change raises it;
//   - the changelog's section for the spec's version, put in place among the
//     sections of the other versions.
//
// It prints each oasdiff command it runs, which works as well by hand from
// the repository's top.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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

// gate is one comparison's settings, paths relative to the repository's top.
type gate struct {
	oasdiff []string
	// spec is the contract; its version at the base is read from git.
	spec string
	// config is oasdiff's configuration file.
	config string
	// acknowledged is the folder of the acknowledgement files, one per
	// version: <info.version>.md, each an oasdiff ignore file.
	acknowledged string
	// templates is the folder of changelog.md.tmpl and acknowledge.md.tmpl.
	templates      string
	stdout, stderr io.Writer
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("specgate", flag.ContinueOnError)
	flags.SetOutput(stderr)
	g := gate{stdout: stdout, stderr: stderr}
	oasdiff := flags.String("oasdiff", "", "the command that runs oasdiff, such as 'go run github.com/oasdiff/oasdiff@v1.38.0'")
	flags.StringVar(&g.spec, "spec", "api/openapi.yaml", "the spec in the work tree, relative to the repository's top")
	flags.StringVar(&g.config, "config", "api/oasdiff.yaml", "oasdiff's configuration file")
	flags.StringVar(&g.acknowledged, "acknowledged", "api/breaking-changes", "the folder of the acknowledged breaking changes, <info.version>.md each")
	flags.StringVar(&g.templates, "templates", "tools/specgate", "the folder of the oasdiff templates changelog.md.tmpl and acknowledge.md.tmpl")
	baseRev := flags.String("base", "", "compare with the spec at this git revision instead of the default base")
	changelog := flags.String("changelog", "", "write the comparison into this changelog instead of judging it")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	if g.oasdiff = strings.Fields(*oasdiff); len(g.oasdiff) == 0 {
		return errors.New("-oasdiff is required")
	}
	revision, err := os.ReadFile(g.spec)
	if err != nil {
		return err
	}
	revVersion, err := specVersion(revision)
	if err != nil {
		return fmt.Errorf("%s: %w", g.spec, err)
	}
	base, err := resolveBase(ctx, gitRunner{}, g.spec, revision, *baseRev)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "base: %s\n", base.description)
	if base.short == "" {
		fmt.Fprintln(stdout, "breaking: nothing to compare: the spec has no earlier version")
		return nil
	}
	baseVersion, err := specVersion(base.spec)
	if err != nil {
		return fmt.Errorf("%s at %s: %w", g.spec, base.short, err)
	}
	c := comparison{gate: g, base: base.short + ":" + g.spec, baseVersion: baseVersion, revVersion: revVersion}
	if *changelog != "" {
		return c.writeChangelog(ctx, *changelog)
	}
	return c.check(ctx)
}
