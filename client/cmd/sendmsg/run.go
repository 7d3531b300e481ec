package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/internal/connflags"
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
	// Lookup returns the sessions with the given ids that the server knows.
	Lookup(ctx context.Context, ids []string) ([]target, error)
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
	random         func() float64 // in [0, 1), for the jitter of retries
	connect        func(ctx context.Context, o *options, d *deps) (horizon, error)
}

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runWith(ctx, args, &deps{
		getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr,
		clock: realClock{}, random: rand.Float64, connect: connect,
	})
}

func runWith(ctx context.Context, args []string, d *deps) error {
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	var o options
	cmd := newCommand(d, &o, func(o *options) error { return execute(ctx, o, d) })
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if ctx.Err() != nil {
		return &interrupted{cause: context.Cause(ctx)}
	}
	return err
}

// errInterrupted says the run was stopped by a signal.
var errInterrupted = errors.New("interrupted")

// interrupted is errInterrupted with the signal's cancellation cause.
type interrupted struct{ cause error }

func (e *interrupted) Error() string        { return errInterrupted.Error() }
func (e *interrupted) Unwrap() error        { return e.cause }
func (e *interrupted) Is(target error) bool { return target == errInterrupted }

// execute runs the command that o describes.
func execute(ctx context.Context, o *options, d *deps) (err error) {
	defer func() { err = explain(err, o) }()
	sending := !o.listOnly && !o.dryRun
	if sending && !o.messageGiven {
		if o.message, err = readMessage(d.stdin, d.stderr); err != nil {
			return err
		}
	}
	if sending && strings.TrimSpace(o.message) == "" {
		return usageError("the message is empty: give --message TEXT, or pipe it in")
	}
	if o.Insecure {
		fmt.Fprintln(d.stderr, "sendmsg: "+connflags.InsecureWarning)
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

	a := &app{o: o, d: d, h: h, retry: retrier{o: o, d: d}}
	if !sending {
		targets, missing, err := a.targets(ctx)
		if err != nil {
			return err
		}
		return a.printTargets(targets, missing)
	}
	return a.send(ctx)
}

// readMessage reads the message from standard input, and says so first when
// it is a terminal, which would otherwise seem to hang.
func readMessage(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintln(stderr, "sendmsg: type the message, then Ctrl-D on a line of its own (or give --message)")
	}
	b, err := io.ReadAll(bufio.NewReader(stdin))
	if err != nil {
		return "", fmt.Errorf("read the message from standard input: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

type app struct {
	o     *options
	d     *deps
	h     horizon
	retry retrier
}

// targets resolves the target flags: the server's matches for the filter
// flags, then the explicit ids not already among them, with what the server
// knows of them. missing are the explicit ids the server does not know;
// none when they could not be looked up.
func (a *app) targets(ctx context.Context) ([]target, []string, error) {
	var out []target
	seen := map[string]bool{}
	if a.o.all || a.o.hasFilter() {
		var listed []target
		_, err := a.retry.do(ctx, lookupVerdict, func(ctx context.Context) error {
			var err error
			listed, err = a.h.Targets(ctx, a.o)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		if err := a.o.checkSelected(listed); err != nil {
			return nil, nil, err
		}
		for _, t := range listed {
			if !seen[t.ID] {
				seen[t.ID] = true
				out = append(out, t)
			}
		}
	}
	var given []string
	for _, id := range a.o.ids {
		if !seen[id] {
			seen[id] = true
			given = append(given, id)
		}
	}
	if len(given) == 0 {
		return out, nil, nil
	}
	known, err := a.lookup(ctx, given)
	if err != nil {
		return nil, nil, err
	}
	var missing []string
	for _, id := range given {
		t, ok := known[id]
		if !ok {
			t = target{ID: id}
			if known != nil {
				missing = append(missing, id)
			}
		}
		out = append(out, t)
	}
	return out, missing, nil
}

// lookup asks the server about sessions given by id, for the USER column and
// the audit. Not knowing is no reason to stop a send, which says what became
// of each id: nil, and a warning. An interrupt is, and so is a failure of
// "sendmsg sessions", whose one job it is.
func (a *app) lookup(ctx context.Context, ids []string) (map[string]target, error) {
	var found []target
	_, err := a.retry.do(ctx, lookupVerdict, func(ctx context.Context) error {
		var err error
		found, err = a.h.Lookup(ctx, ids)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if a.o.listOnly {
			return nil, err
		}
		fmt.Fprintf(a.d.stderr, "sendmsg: the sessions given by id could not be looked up, so their details stay empty: %v\n", err)
		return nil, nil
	}
	known := make(map[string]target, len(found))
	for _, t := range found {
		known[t.ID] = t
	}
	return known, nil
}

// send sends the message once, or as a countdown of reminders.
func (a *app) send(ctx context.Context) error {
	start := a.d.clock.Now()
	deadline := start.Add(a.o.countdown)
	rounds := 1
	if a.o.countdown > 0 {
		rounds = int(math.Ceil(float64(a.o.countdown) / float64(a.o.every)))
	}
	notAll := false
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			wait := start.Add(time.Duration(round-1) * a.o.every).Sub(a.d.clock.Now())
			select {
			case <-ctx.Done():
				fmt.Fprintf(a.d.stderr, "sendmsg: stopped after %d of %d reminders\n", round-1, rounds)
				return ctx.Err()
			case <-a.d.clock.After(wait):
			}
		}
		// Targets are resolved again each round: sessions come and go. The
		// send reports an id the server does not know as failed.
		targets, _, err := a.targets(ctx)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			if round == 1 {
				return errors.New("no session matches the targets")
			}
			// Everyone logged off, as the reminders asked: nothing left to warn.
			fmt.Fprintf(a.d.stderr, "sendmsg: no session matches the targets any more; stopped after %d of %d reminders\n", round-1, rounds)
			return a.outcome(notAll)
		}
		text, left := a.o.message, time.Duration(-1)
		if a.o.countdown > 0 {
			left = deadline.Sub(a.d.clock.Now())
			text = fillIn(text, left)
		}
		rows, err := a.sendRound(ctx, text, targets)
		if len(rows) > 0 {
			if reportErr := a.report(round, rounds, left, text, rows); reportErr != nil && err == nil {
				err = reportErr
			}
		}
		for _, r := range rows {
			notAll = notAll || r.Outcome != outcomeDelivered
		}
		if err != nil {
			if ctx.Err() != nil && rounds > 1 {
				fmt.Fprintf(a.d.stderr, "sendmsg: stopped in reminder %d of %d\n", round, rounds)
			}
			return err
		}
	}
	return a.outcome(notAll)
}

// fillIn puts the time left into a reminder: {left} in words, {minutes} as
// minutes rounded up. "{minutes} minutes" reads as {left}, so that a text
// written for whole minutes stays right under a minute and at one.
func fillIn(text string, left time.Duration) string {
	words := timeLeft(left)
	text = strings.ReplaceAll(text, "{minutes} minutes", words)
	text = strings.ReplaceAll(text, "{left}", words)
	return strings.ReplaceAll(text, "{minutes}", strconv.Itoa(int(math.Ceil(left.Minutes()))))
}

// timeLeft says d in words, to the second: "15 minutes", "1 minute",
// "30 seconds", "1 minute 30 seconds".
func timeLeft(d time.Duration) string {
	seconds := max(int(d.Round(time.Second)/time.Second), 1)
	minutes, seconds := seconds/60, seconds%60
	var parts []string
	if minutes > 0 {
		parts = append(parts, plural(minutes, "minute"))
	}
	if seconds > 0 {
		parts = append(parts, plural(seconds, "second"))
	}
	return strings.Join(parts, " ")
}

// sessions is "1 session" or "n sessions".
func sessions(n int) string { return plural(n, "session") }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func (a *app) outcome(notAll bool) error {
	if notAll {
		return errSomeFailed
	}
	return nil
}

// What became of the message for one session.
const (
	outcomeDelivered = "delivered"
	outcomeFailed    = "failed"  // the server said it did not deliver it
	outcomeUnknown   = "unknown" // the server may have delivered it; not sent again
)

// row is the outcome for one session.
type row struct {
	Time       time.Time `json:"time"`
	SessionID  string    `json:"session_id"`
	User       string    `json:"user_id,omitempty"`
	Type       string    `json:"type"`
	Outcome    string    `json:"outcome"`
	Delivered  bool      `json:"delivered"`
	StatusCode int       `json:"status_code,omitempty"`
	Reason     string    `json:"reason,omitempty"`
}

// sendRound sends text to targets in batches. A batch whose outcome is
// unknown gets rows that say so, and the next batch is sent; any other
// failure stops the round, with the rows of the batches sent before.
func (a *app) sendRound(ctx context.Context, text string, targets []target) ([]row, error) {
	users := make(map[string]string, len(targets))
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i], users[t.ID] = t.ID, t.User
	}
	progress := newProgress(a.d.stderr, len(ids))
	defer progress.done()
	rows := make([]row, 0, len(ids))
	for start := 0; start < len(ids); start += a.o.batchSize {
		batch := ids[start:min(start+a.o.batchSize, len(ids))]
		var results client.Results
		v, err := a.retry.do(ctx, sendVerdict, func(ctx context.Context) error {
			var err error
			results, err = a.h.SendMessage(ctx, a.o.messageType, text, batch)
			return err
		})
		switch {
		case err == nil:
			for _, r := range results {
				outcome := outcomeDelivered
				if !r.Delivered() {
					outcome = outcomeFailed
				}
				rows = append(rows, row{
					Time: r.Time, SessionID: r.SessionID, User: users[r.SessionID], Type: string(a.o.messageType),
					Outcome: outcome, Delivered: r.Delivered(), StatusCode: r.StatusCode, Reason: r.Reason(),
				})
			}
		case v == unknown:
			fmt.Fprintf(a.d.stderr, "sendmsg: %v; outcome unknown for %s, not sent again\n", err, sessions(len(batch)))
			reason := unknownReason(err, a.o.Timeout)
			now := a.d.clock.Now().Truncate(time.Millisecond) // as precise as the server's times
			for _, id := range batch {
				rows = append(rows, row{
					Time: now, SessionID: id, User: users[id], Type: string(a.o.messageType),
					Outcome: outcomeUnknown, Reason: reason,
				})
			}
		default:
			if start > 0 {
				err = fmt.Errorf("%w; not sent to the other %s", err, sessions(len(ids)-start))
			}
			return rows, err
		}
		progress.update(start + len(batch))
		if ctx.Err() != nil {
			if rest := len(ids) - start - len(batch); rest > 0 {
				fmt.Fprintf(a.d.stderr, "sendmsg: stopped; not sent to the other %s\n", sessions(rest))
			}
			return rows, ctx.Err()
		}
	}
	return rows, nil
}

// unknownReason says, for the report, why the server may have shown the
// message although it did not say so.
func unknownReason(err error, timeout time.Duration) string {
	var apiErr *client.APIError
	var urlErr *url.Error
	what := "the answer could not be read"
	switch {
	case errors.As(err, &apiErr):
		what = fmt.Sprintf("answered %d %s", apiErr.StatusCode, http.StatusText(apiErr.StatusCode))
	case errors.As(err, &urlErr) && urlErr.Timeout():
		what = "no answer within " + timeout.String()
	case errors.As(err, &urlErr) && errors.Is(err, context.Canceled):
		what = "interrupted before the answer"
	case errors.As(err, &urlErr):
		what = "the answer was lost"
	}
	return what + ": it may have been shown; not sent again"
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
	fmt.Fprintf(p.w, "\rsent %d of %s", sent, sessions(p.total))
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
