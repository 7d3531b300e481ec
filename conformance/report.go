package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// evidenceWidth bounds a line of evidence in the table; the JSON and JUnit
// reports have it whole.
const evidenceWidth = 160

// WriteTable writes the report for a person: one row per check, each
// difference on a line of its own, and a summary.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tOPERATION\tRESULT\tEVIDENCE")
	for _, res := range rep.Results {
		lines := res.Differences
		if res.Outcome == Fail && len(res.Requests) > 0 {
			lines = append(lines[:len(lines):len(lines)], "sent: "+res.Requests[len(res.Requests)-1])
		}
		if len(lines) == 0 && res.Note != "" {
			lines = []string{res.Note}
		}
		if len(res.Extra) > 0 {
			lines = append(lines[:len(lines):len(lines)], "fields the contract does not have: "+strings.Join(res.Extra, ", "))
		}
		first := ""
		if len(lines) > 0 {
			first = lines[0]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", res.Check, res.Operation, res.Outcome, clip(first))
		for _, line := range lines[min(1, len(lines)):] {
			fmt.Fprintf(tw, "\t\t\t%s\n", clip(line))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the table: %w", err)
	}
	_, err := fmt.Fprintf(w, "\n%s\n", rep.Summary())
	return err
}

// Summary is the report in one line.
func (rep *Report) Summary() string {
	against := "contract " + rep.ContractVersion
	if len(rep.OtherSpecs) > 0 {
		against += " and " + strings.Join(rep.OtherSpecs, ", ")
	}
	checks := "checks"
	if len(rep.Results) == 1 {
		checks = "check"
	}
	return fmt.Sprintf("%d %s: %d passed, %d failed, %d skipped, in %s; %s against %s",
		len(rep.Results), checks, rep.Passed, rep.Failed, rep.Skipped, rep.Duration.Round(time.Millisecond), rep.Server, against)
}

func clip(s string) string {
	if len(s) <= evidenceWidth {
		return s
	}
	return s[:evidenceWidth-3] + "..."
}

// WriteJSON writes the report as one JSON document.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write the JSON report: %w", err)
	}
	return nil
}

// The JUnit XML format as CI systems read it.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name      string      `xml:"name,attr"`
		Tests     int         `xml:"tests,attr"`
		Failures  int         `xml:"failures,attr"`
		Skipped   int         `xml:"skipped,attr"`
		Time      string      `xml:"time,attr"`
		Timestamp string      `xml:"timestamp,attr"`
		Cases     []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitMessage `xml:"failure,omitempty"`
		Skipped   *junitMessage `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitMessage struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes the report as JUnit XML: one test case per check, its
// class the operation.
func (rep *Report) WriteJUnit(w io.Writer) error {
	suite := junitSuite{
		Name: "conform " + rep.Server, Tests: len(rep.Results), Failures: rep.Failed, Skipped: rep.Skipped,
		Time: seconds(rep.Duration), Timestamp: rep.Started.UTC().Format(time.RFC3339),
	}
	for _, res := range rep.Results {
		tc := junitCase{Name: res.Check, Classname: res.Operation, Time: seconds(res.Duration)}
		out := []string{}
		if len(res.Requests) > 0 {
			out = append(out, "sent: "+strings.Join(res.Requests, "\nsent: "))
		}
		if len(res.Extra) > 0 {
			out = append(out, "fields the contract does not have: "+strings.Join(res.Extra, ", "))
		}
		if res.Note != "" && res.Outcome != Skip {
			out = append(out, res.Note)
		}
		tc.SystemOut = strings.Join(out, "\n")
		switch res.Outcome {
		case Fail:
			tc.Failure = &junitMessage{Message: res.Differences[0], Text: strings.Join(res.Differences, "\n")}
		case Skip:
			tc.Skipped = &junitMessage{Message: res.Note}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{
		Name: "conform", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: suite.Time,
		Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write the JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write the JUnit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
