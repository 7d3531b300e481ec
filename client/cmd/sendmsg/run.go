package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hzkit/sendmessage/client"
)

// target is one session to message, with what the listing told about it.
type target struct {
	ID      string `json:"id"`
	User    string `json:"user_id,omitempty"`
	Machine string `json:"machine_id,omitempty"`
	Pool    string `json:"desktop_pool_id,omitempty"`
	State   string `json:"session_state,omitempty"`
}

// horizon is what sendmsg needs of a Connection Server.
type horizon interface {
	SendMessage(ctx context.Context, t client.MessageType, message string, ids []string) (client.Results, error)
	// Targets lists the sessions matching the filter flags of o (all of
	// them with --all).
	Targets(ctx context.Context, o *options) ([]target, error)
	Close(ctx context.Context) error
}

// clock is time, replaceable in tests.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// deps are the program's connections to the world.
type deps struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	clock          clock
	connect        func(ctx context.Context, o *options, d *deps) (horizon, error)
}

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runWith(ctx, args, &deps{
		getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr,
		clock: realClock{}, connect: connect,
	})
}

func runWith(ctx context.Context, args []string, d *deps) error {
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	var o options
	cmd := newCommand(d, &o, func(o *options) error { return execute(ctx, o, d) })
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// execute runs the command that o describes.
func execute(ctx context.Context, o *options, d *deps) (err error) {
	defer func() { err = explain(err, o) }()
	sending := !o.listOnly && !o.dryRun
	if sending && !o.messageGiven {
		if o.message, err = readMessage(d.stdin); err != nil {
			return err
		}
	}
	if sending && strings.TrimSpace(o.message) == "" {
		return usageError("the message is empty: give --message TEXT, or pipe it in")
	}
	if o.insecure {
		fmt.Fprintln(d.stderr, "sendmsg: WARNING: --insecure: the server's certificate is not verified; anyone on the path can read the password and tokens")
	}
	h, err := d.connect(ctx, o, d)
	if err != nil {
		return err
	}
	defer func() {
		// Log out even after Ctrl-C, within a bound of its own.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if closeErr := h.Close(closeCtx); closeErr != nil && err == nil {
			err = closeErr
		}
	}()

	a := &app{o: o, d: d, h: h}
	if !sending {
		targets, err := a.targets(ctx)
		if err != nil {
			return err
		}
		return a.printTargets(targets)
	}
	return a.send(ctx)
}

func readMessage(stdin io.Reader) (string, error) {
	b, err := io.ReadAll(bufio.NewReader(stdin))
	if err != nil {
		return "", fmt.Errorf("read the message from standard input: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

type app struct {
	o *options
	d *deps
	h horizon
}

// targets resolves the target flags: the server's matches for the filter
// flags, then the explicit ids not already among them.
func (a *app) targets(ctx context.Context) ([]target, error) {
	var out []target
	seen := map[string]bool{}
	if a.o.all || a.o.hasFilter() {
		listed, err := a.h.Targets(ctx, a.o)
		if err != nil {
			return nil, err
		}
		for _, t := range listed {
			if !seen[t.ID] {
				seen[t.ID] = true
				out = append(out, t)
			}
		}
	}
	for _, id := range a.o.ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, target{ID: id})
		}
	}
	return out, nil
}

// send sends the message once, or as a countdown of reminders.
func (a *app) send(ctx context.Context) error {
	start := a.d.clock.Now()
	deadline := start.Add(a.o.countdown)
	rounds := 1
	if a.o.countdown > 0 {
		rounds = int(math.Ceil(float64(a.o.countdown) / float64(a.o.every)))
	}
	failed := false
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			wait := start.Add(time.Duration(round-1) * a.o.every).Sub(a.d.clock.Now())
			select {
			case <-ctx.Done():
				fmt.Fprintf(a.d.stderr, "sendmsg: stopped after %d of %d reminders\n", round-1, rounds)
				return a.outcome(failed)
			case <-a.d.clock.After(wait):
			}
		}
		// Targets are resolved again each round: sessions come and go.
		targets, err := a.targets(ctx)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			if round == 1 {
				return errors.New("no session matches the targets")
			}
			// Everyone logged off, as the reminders asked: nothing left to warn.
			fmt.Fprintf(a.d.stderr, "sendmsg: no session matches the targets any more; stopped after %d of %d reminders\n", round-1, rounds)
			return a.outcome(failed)
		}
		text := a.o.message
		minutesLeft := -1
		if a.o.countdown > 0 {
			minutesLeft = int(math.Ceil(deadline.Sub(a.d.clock.Now()).Minutes()))
			text = strings.ReplaceAll(text, "{minutes}", strconv.Itoa(minutesLeft))
		}
		rows, err := a.sendRound(ctx, text, targets)
		if err != nil {
			return err
		}
		if err := a.report(round, rounds, minutesLeft, text, rows); err != nil {
			return err
		}
		for _, r := range rows {
			failed = failed || !r.Delivered
		}
	}
	return a.outcome(failed)
}

func (a *app) outcome(failed bool) error {
	if failed {
		return errSomeFailed
	}
	return nil
}

// row is the outcome for one session.
type row struct {
	Time       time.Time `json:"time"`
	SessionID  string    `json:"session_id"`
	User       string    `json:"user_id,omitempty"`
	Type       string    `json:"type"`
	Delivered  bool      `json:"delivered"`
	StatusCode int       `json:"status_code"`
	Reason     string    `json:"reason,omitempty"`
}

// sendRound sends text to targets in batches.
func (a *app) sendRound(ctx context.Context, text string, targets []target) ([]row, error) {
	users := make(map[string]string, len(targets))
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i], users[t.ID] = t.ID, t.User
	}
	progress := newProgress(a.d.stderr, len(ids))
	rows := make([]row, 0, len(ids))
	for start := 0; start < len(ids); start += a.o.batchSize {
		batch := ids[start:min(start+a.o.batchSize, len(ids))]
		results, err := a.sendWithRetry(ctx, text, batch)
		if err != nil {
			progress.done()
			return nil, err
		}
		for _, r := range results {
			rows = append(rows, row{
				Time: r.Time, SessionID: r.SessionID, User: users[r.SessionID], Type: string(a.o.messageType),
				Delivered: r.Delivered(), StatusCode: r.StatusCode, Reason: r.Reason(),
			})
		}
		progress.update(start + len(batch))
	}
	progress.done()
	return rows, nil
}

// sendWithRetry retries after connection errors and 5xx answers, with
// doubling waits; a 4xx is final.
func (a *app) sendWithRetry(ctx context.Context, text string, ids []string) (client.Results, error) {
	wait := a.o.retryWait
	for attempt := 0; ; attempt++ {
		reqCtx, cancel := context.WithTimeout(ctx, a.o.requestTimeout)
		results, err := a.h.SendMessage(reqCtx, a.o.messageType, text, ids)
		cancel()
		if err == nil {
			return results, nil
		}
		if attempt >= a.o.retries || !retryable(ctx, err) {
			return nil, err
		}
		fmt.Fprintf(a.d.stderr, "sendmsg: %v; retrying in %s\n", err, wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (while waiting to retry)", ctx.Err())
		case <-a.d.clock.After(wait):
		}
		wait *= 2
	}
}

func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode >= 500
	}
	// Only failures to connect: then the request was never sent. After a
	// timeout or a dropped answer the server may have delivered the message
	// already, and sending it again would show users a second pop-up.
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// progress writes a progress line to stderr when it is a terminal.
type progress struct {
	w     io.Writer
	total int
	shown bool
}

func newProgress(w io.Writer, total int) *progress {
	if f, ok := w.(*os.File); !ok || !isTerminal(f) {
		w = nil
	}
	return &progress{w: w, total: total}
}

func (p *progress) update(sent int) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "\rsent %d of %d sessions", sent, p.total)
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
