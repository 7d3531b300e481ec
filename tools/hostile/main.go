// Command hostile plays hostile clients against a refserver binary on
// loopback, each attack against a fresh server process, and prints what each
// cost the server (peak resident memory, CPU, log bytes, answers) and what a
// legitimate client still got meanwhile, each figure next to its budget
// (budgets.go).
//
// Every loop is bounded in count and time, and every address is on
// 127.0.0.0/8. With -check (the default) the run fails when a figure is past
// its budget; -check=false only measures, for a server that predates the
// budgets. Either way the run fails when an attack is broken: when the
// answers show that it did not send what it says it sends (a "valid body"
// that gets 400).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	refserver := flag.String("refserver", "", "the refserver `binary` under test (required)")
	check := flag.Bool("check", true, "fail when a figure is past its budget (false: only measure)")
	only := flag.String("only", "", "run only the attacks whose name contains this `text`")
	markdown := flag.String("markdown", "", "also write the table as Markdown to this `file`")
	keep := flag.Bool("keep", false, "keep the temporary directory (data files, server logs) and print its name")
	flag.Parse()
	if *refserver == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: hostile -refserver BINARY [-check=false] [-only TEXT] [-markdown FILE] [-keep]")
		os.Exit(2)
	}
	os.Exit(run(options{bin: *refserver, check: *check, only: *only, markdown: *markdown, keep: *keep}))
}

type options struct {
	bin      string
	check    bool
	only     string
	markdown string
	keep     bool
}

// runLimit bounds the whole run, whatever an attack does.
const runLimit = 12 * time.Minute

// run runs the attacks and returns the exit status.
func run(o options) int {
	// On Ctrl-C the attacks end and every server is killed with its context;
	// the temporary directory is removed as on a normal end.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, runLimit)
	defer cancel()
	h, err := newHarness(ctx, o.bin, o.check)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 2
	}
	if o.keep {
		fmt.Printf("hostile: keeping %s\n", h.dir)
	} else {
		defer os.RemoveAll(h.dir)
	}
	start := time.Now()
	h.runAll(ctx, o.only)
	h.summary(time.Since(start))
	if o.markdown != "" {
		if err := h.writeMarkdown(o.markdown); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			return 2
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "hostile: interrupted or out of time: the figures above are partial")
		return 1
	}
	if h.failed > 0 {
		return 1
	}
	return 0
}
