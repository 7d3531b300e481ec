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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Exit statuses.
const (
	exitDelivered = 0 // every session got the message
	exitSomeFail  = 1 // the server answered, but not every session is known to have it
	exitTrouble   = 2 // usage, authentication or connection error
)

// errSomeFailed says the run finished but not every session is known to
// have been sent the message.
var errSomeFailed = errors.New("not every session was sent the message")

// exitCode prints err, once, and returns the exit status it means.
func exitCode(err error, stderr io.Writer) int {
	var usage *usageErr
	var hint *hinted
	switch {
	case err == nil:
		return exitDelivered
	case errors.Is(err, errSomeFailed):
		return exitSomeFail
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
