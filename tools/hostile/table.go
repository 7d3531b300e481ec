package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// verdict is what a row says of its figure.
type verdict string

const (
	verdictInfo       verdict = ""
	verdictOK         verdict = "ok"
	verdictOver       verdict = "OVER"
	verdictOverNoted  verdict = "over (not checked)"
	verdictBroken     verdict = "BROKEN ATTACK"
	verdictMissing    verdict = "NOT SUPPORTED"
	verdictMissNoted  verdict = "not supported (not checked)"
	verdictSkipped    verdict = "skipped"
	verdictError      verdict = "ERROR"
	tableWidthAttack          = 24
	tableWidthMeasure         = 56
	tableWidthValue           = 30
	tableWidthBudget          = 18
)

// row is one line of the table.
type row struct {
	attack, measure, value, budget string
	verdict                        verdict
}

// failing says whether the row fails the run.
func (r row) failing() bool {
	switch r.verdict {
	case verdictOver, verdictBroken, verdictMissing, verdictError:
		return true
	}
	return false
}

func (h *harness) header() {
	fmt.Printf("%-*s | %-*s | %-*s | %-*s | %s\n", tableWidthAttack, "attack", tableWidthMeasure, "measure",
		tableWidthValue, "value", tableWidthBudget, "budget", "verdict")
	fmt.Println(strings.Repeat("-", tableWidthAttack+tableWidthMeasure+tableWidthValue+tableWidthBudget+24))
}

func (h *harness) add(r row) {
	r.attack = h.current
	h.rows = append(h.rows, r)
	if r.failing() {
		h.failed++
	}
	fmt.Printf("%-*s | %-*s | %-*s | %-*s | %s\n", tableWidthAttack, r.attack, tableWidthMeasure, r.measure,
		tableWidthValue, r.value, tableWidthBudget, r.budget, r.verdict)
}

// info is a figure without a budget.
func (h *harness) info(measure, value string) {
	h.add(row{measure: measure, value: value})
}

// budget is a figure held to its budget: past it, the run fails when
// checking.
func (h *harness) budget(measure, value, budget string, ok bool) {
	v := verdictOK
	switch {
	case !ok && h.check:
		v = verdictOver
	case !ok:
		v = verdictOverNoted
	}
	h.add(row{measure: measure, value: value, budget: budget, verdict: v})
}

// proof is what the answers show of the attack itself: that it sent what
// it says it sends. A false one is a broken attack, whatever -check says.
func (h *harness) proof(measure, value, claim string, ok bool) {
	v := verdictOK
	if !ok {
		v = verdictBroken
	}
	h.add(row{measure: "proof: " + measure, value: value, budget: claim, verdict: v})
}

// unsupported is a part of the design the server lacks: a failure when
// checking, a note otherwise.
func (h *harness) unsupported(measure, value string) {
	v := verdictMissing
	if !h.check {
		v = verdictMissNoted
	}
	h.add(row{measure: measure, value: value, budget: "in the design", verdict: v})
}

// skip is a part of an attack this machine cannot play.
func (h *harness) skip(measure, why string) {
	h.add(row{measure: measure, value: why, verdict: verdictSkipped})
}

// summary prints the count of rows by verdict and the rows that fail.
func (h *harness) summary(took time.Duration) {
	counts := map[verdict]int{}
	attacks := map[string]bool{}
	for _, r := range h.rows {
		counts[r.verdict]++
		attacks[r.attack] = true
	}
	fmt.Printf("\nhostile: %d attacks, %d rows in %s: %d ok, %d over budget, %d over (not checked), %d broken attacks, %d not supported, %d errors\n",
		len(attacks), len(h.rows), took.Round(time.Second), counts[verdictOK], counts[verdictOver], counts[verdictOverNoted],
		counts[verdictBroken], counts[verdictMissing]+counts[verdictMissNoted], counts[verdictError])
	if h.failed == 0 {
		return
	}
	fmt.Fprintf(os.Stderr, "hostile: %d rows fail:\n", h.failed)
	for _, r := range h.rows {
		if r.failing() {
			fmt.Fprintf(os.Stderr, "  %s: %s: %s (budget %s) %s\n", r.attack, r.measure, r.value, r.budget, r.verdict)
		}
	}
}

// writeMarkdown writes the table as Markdown.
func (h *harness) writeMarkdown(name string) error {
	var b strings.Builder
	b.WriteString("| attack | measure | value | budget | verdict |\n|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, r := range h.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(r.attack), cell(r.measure), cell(r.value), cell(r.budget), r.verdict)
	}
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("markdown table: %w", err)
	}
	return nil
}
