// Command sendmsg sends a message to the users of Horizon sessions: log in,
// pick the sessions (by id, pool, user, machine or state), send, report what
// was delivered, log out. It works against a Horizon Connection Server and
// against this module's reference server.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-signals
		// A second Ctrl-C ends the process at once, logout or not.
		signal.Stop(signals)
		cancel(signalled{s})
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// signalled is the cause of a run stopped by a signal.
type signalled struct{ os.Signal }

func (s signalled) Error() string { return s.String() }

// Exit statuses.
const (
	exitDelivered   = 0   // every session got the message
	exitSomeFail    = 1   // not every session is known to have the message; or a session id to list was not found
	exitTrouble     = 2   // usage, authentication or connection error
	exitInterrupted = 130 // stopped by Ctrl-C: 128 + SIGINT, as shells report it
)

// errSomeFailed says the run finished but not every session is known to
// have been sent the message.
var errSomeFailed = errors.New("not every session was sent the message")

// errNotFound says a listing finished but some session ids given are not
// known to the server.
var errNotFound = errors.New("some sessions were not found")

// exitCode prints err, once, and returns the exit status it means.
func exitCode(err error, stderr io.Writer) int {
	var usage *usageErr
	var hint *hinted
	var sig signalled
	switch {
	case err == nil:
		return exitDelivered
	case errors.Is(err, errSomeFailed), errors.Is(err, errNotFound):
		return exitSomeFail // the report says which
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, "sendmsg: interrupted")
		if errors.As(err, &sig) {
			if n, ok := sig.Signal.(syscall.Signal); ok {
				return 128 + int(n)
			}
		}
		return exitInterrupted
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "sendmsg: %v\nRun '%s --help' for usage.\n", err, usage.cmd)
		return exitTrouble
	case errors.As(err, &hint):
		fmt.Fprintf(stderr, "sendmsg: %v\n%s\n", err, hint.hint)
		return exitTrouble
	default:
		fmt.Fprintln(stderr, "sendmsg:", err)
		return exitTrouble
	}
}
