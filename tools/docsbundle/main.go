// Command docsbundle builds the reference server's docs page script from the
// redoc npm package that package.json pins, or checks that the committed
// build is what the package gives (-check), as check-generated does for gen/.
//
//	docsbundle -from node_modules/redoc -out server/internal/docs/redoc [-check]
//
// The build is the package's standalone bundle with one change: its sidebar
// shows Redocly's logo from Redocly's servers, which a page that works with no
// network cannot load; the image source is emptied, so the image is never
// requested and its error handler removes it at once. The package's licence
// files are copied next to it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The one remote load of redoc's standalone bundle, and what replaces it.
const (
	remoteLogo = `src:"https://cdn.redoc.ly/redoc/logo-mini.svg"`
	localLogo  = `src:""`
)

// Files of the build, by their name in the output folder, and where in the
// package each comes from.
var files = []struct{ name, from string }{
	{"redoc.standalone.js", "bundles/redoc.standalone.js"},
	{"redoc.standalone.js.LICENSE.txt", "bundles/redoc.standalone.js.LICENSE.txt"},
	{"LICENSE", "LICENSE"},
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "docsbundle:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("docsbundle", flag.ContinueOnError)
	flags.SetOutput(stderr)
	from := flags.String("from", "node_modules/redoc", "the installed redoc npm package")
	out := flags.String("out", "", "the folder of the build")
	check := flags.Bool("check", false, "write nothing; fail when the folder differs from a new build")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	built, err := build(*from)
	if err != nil {
		return err
	}
	if *check {
		var stale []string
		for _, f := range files {
			have, err := os.ReadFile(filepath.Join(*out, f.name))
			if err != nil || !bytes.Equal(have, built[f.name]) {
				stale = append(stale, filepath.Join(*out, f.name))
			}
		}
		if len(stale) > 0 {
			return fmt.Errorf("%q differ from a build of %s: run 'make docs-bundle' and commit them", stale, *from)
		}
		fmt.Fprintf(stdout, "docsbundle: %s is the build of %s\n", *out, *from)
		return nil
	}
	if err := os.MkdirAll(*out, 0o755); err != nil { //nolint:gosec // G301: a source folder, as readable as any other
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(*out, f.name), built[f.name], 0o644); err != nil { //nolint:gosec // G306: committed source
			return err
		}
	}
	fmt.Fprintf(stdout, "docsbundle: built %s from %s\n", *out, *from)
	return nil
}

// build returns the files of the build from the package at dir.
func build(dir string) (map[string][]byte, error) {
	manifest, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("%w (run 'npm ci')", err)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(manifest, &pkg); err != nil {
		return nil, fmt.Errorf("%s/package.json: %w", dir, err)
	}
	if pkg.Name != "redoc" || pkg.Version == "" {
		return nil, fmt.Errorf("%s is not the redoc package (name %q, version %q)", dir, pkg.Name, pkg.Version)
	}
	built := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.from))
		if err != nil {
			return nil, err
		}
		built[f.name] = b
	}
	script := built["redoc.standalone.js"]
	if n := bytes.Count(script, []byte(remoteLogo)); n != 1 {
		return nil, fmt.Errorf("redoc %s: the bundle has %d copies of %s, want 1: see what this version loads from elsewhere", pkg.Version, n, remoteLogo)
	}
	header := fmt.Sprintf("/*! redoc %s, bundles/redoc.standalone.js from npm, built by tools/docsbundle: the sidebar logo is not loaded from cdn.redoc.ly. */\n", pkg.Version)
	built["redoc.standalone.js"] = append([]byte(header), bytes.Replace(script, []byte(remoteLogo), []byte(localLogo), 1)...)
	return built, nil
}
