package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// roundReport is one send, as --output json prints it: one JSON object per line.
type roundReport struct {
	Round       int    `json:"round"`
	Rounds      int    `json:"rounds"`
	MinutesLeft *int   `json:"minutes_left,omitempty"`
	SecondsLeft *int   `json:"seconds_left,omitempty"`
	Message     string `json:"message"`
	Delivered   int    `json:"delivered"`
	Failed      int    `json:"failed"`
	Unknown     int    `json:"unknown"`
	Results     []row  `json:"results"`
}

// report writes the rows of one send to the audit file and to stdout. left
// is the time left of a countdown, negative without one.
func (a *app) report(round, rounds int, left time.Duration, text string, rows []row) error {
	r := roundReport{Round: round, Rounds: rounds, Message: text, Results: rows}
	if left >= 0 {
		minutes, seconds := int(math.Ceil(left.Minutes())), int(left.Round(time.Second)/time.Second)
		r.MinutesLeft, r.SecondsLeft = &minutes, &seconds
	}
	for _, row := range rows {
		switch row.Outcome {
		case outcomeDelivered:
			r.Delivered++
		case outcomeUnknown:
			r.Unknown++
		default:
			r.Failed++
		}
	}
	if err := a.audit(rows); err != nil {
		return err
	}
	if a.o.output == "json" {
		if err := json.NewEncoder(a.d.stdout).Encode(r); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	if rounds > 1 {
		fmt.Fprintf(a.d.stdout, "Reminder %d of %d (%s left): %s\n", round, rounds, timeLeft(left), text)
	}
	w := tabwriter.NewWriter(a.d.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SESSION\tUSER\tRESULT\tREASON")
	for _, row := range rows {
		result := row.Outcome
		if row.Outcome == outcomeFailed {
			result = fmt.Sprintf("failed (%d)", row.StatusCode)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", row.SessionID, dash(row.User), result, row.Reason)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	summary := fmt.Sprintf("%s delivered to %d of %s; %d failed", a.o.messageType, r.Delivered, sessions(len(rows)), r.Failed)
	if r.Unknown > 0 {
		summary += fmt.Sprintf("; %d unknown, not sent again", r.Unknown)
	}
	_, err := fmt.Fprintln(a.d.stdout, summary)
	return err
}

// audit appends one JSON line per session to the --audit file.
func (a *app) audit(rows []row) error {
	if a.o.auditFile == "" {
		return nil
	}
	f, err := os.OpenFile(a.o.auditFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("audit file: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, row := range rows {
		if err := enc.Encode(row); err != nil {
			_ = f.Close()
			return fmt.Errorf("audit file %s: %w", a.o.auditFile, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit file %s: %w", a.o.auditFile, err)
	}
	return nil
}

// printTargets lists the sessions found, and says which ids given were not:
// errNotFound then.
func (a *app) printTargets(targets []target, missing []string) error {
	isMissing := make(map[string]bool, len(missing))
	for _, id := range missing {
		isMissing[id] = true
	}
	found := make([]target, 0, len(targets))
	for _, t := range targets {
		if !isMissing[t.ID] {
			found = append(found, t)
		}
	}
	if err := a.printFound(found); err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(a.d.stderr, "sendmsg: not found: %s\n", strings.Join(missing, ", "))
		return errNotFound
	}
	return nil
}

func (a *app) printFound(targets []target) error {
	if a.o.output == "json" {
		if err := json.NewEncoder(a.d.stdout).Encode(targets); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	w := tabwriter.NewWriter(a.d.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SESSION\tUSER\tMACHINE\tPOOL\tSTATE")
	for _, t := range targets {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.ID, dash(t.User), dash(t.Machine), dash(t.Pool), dash(t.State))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	verb := "match"
	if len(targets) == 1 {
		verb = "matches"
	}
	if a.o.dryRun {
		verb = "would be messaged (dry run: nothing sent)"
	}
	_, err := fmt.Fprintf(a.d.stdout, "%s %s\n", sessions(len(targets)), verb)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
