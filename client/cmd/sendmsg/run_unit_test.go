package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hzkit/sendmessage/client"
)

var tokenEnv = map[string]string{envServer: "https://horizon.example.com", envToken: "tok"}

func demoHorizon() *fakeHorizon {
	return &fakeHorizon{
		sessions: []target{
			{ID: "s1", User: "u1", Pool: "finance", State: "CONNECTED"},
			{ID: "s2", User: "u2", Pool: "finance", State: "CONNECTED"},
			{ID: "s3", User: "u3", Pool: "finance", State: "DISCONNECTED"},
			{ID: "s4", User: "u1", Pool: "eng", State: "CONNECTED"},
		},
		connected: map[string]bool{"s1": true, "s2": true, "s4": true},
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no server", map[string]string{envToken: "t"}, []string{"--all"}, "--server"},
		{"no credentials", map[string]string{envServer: "https://h"}, []string{"--all"}, "--username"},
		{"no target", tokenEnv, []string{"--message", "x"}, "no target"},
		{"all with ids", tokenEnv, []string{"--all", "s1"}, "--all cannot"},
		{"bad type", tokenEnv, []string{"--type", "debug", "s1"}, "INFO, WARNING or ERROR"},
		{"bad output", tokenEnv, []string{"--output", "xml", "s1"}, "--output"},
		{"countdown without every", tokenEnv, []string{"--countdown", "15m", "s1"}, "go together"},
		{"every longer than countdown", tokenEnv, []string{"--countdown", "5m", "--every", "10m", "s1"}, "longer than"},
		{"zero batch", tokenEnv, []string{"--batch-size", "0", "s1"}, "--batch-size"},
		{"ca and insecure", tokenEnv, []string{"--ca-file", "x", "--insecure", "s1"}, "contradict"},
		{"empty message", tokenEnv, []string{"--message", "  ", "s1"}, "message is empty"},
		{"unknown flag", tokenEnv, []string{"--nope", "s1"}, "unknown flag: --nope"},
		{"unknown flag after an id", tokenEnv, []string{"--message", "x", "s1", "--nope"}, "unknown flag: --nope"},
		{"single-dash long flag", tokenEnv, []string{"--message", "x", "-type", "error", "s1"}, "unknown shorthand flag: 't' in -type; long flags take two dashes: --type"},
		{"single-dash long flag with a value", tokenEnv, []string{"--message", "x", "-pool=finance"}, "long flags take two dashes: --pool"},
		{"single-dash misspelt flag", tokenEnv, []string{"--message", "x", "-typ", "error", "s1"}, "in -typ; did you mean --type?"},
		{"misspelt flag", tokenEnv, []string{"--message", "x", "--typ", "error", "s1"}, "unknown flag: --typ; did you mean --type?"},
		{"misspelt flag of sessions", tokenEnv, []string{"sessions", "--poool", "finance"}, "unknown flag: --poool; did you mean --pool?"},
		{"a flag after --", tokenEnv, []string{"--message", "x", "--", "s1", "--type", "error"}, `"--type" looks like a flag`},
		{"a command after an id", tokenEnv, []string{"--message", "x", "s1", "sessions"}, `"sessions" is a command`},
		{"a misspelt command", tokenEnv, []string{"sesions", "--pool", "p"}, `did you mean the command "sessions"`},
		{"bad state", tokenEnv, []string{"--state", "gone", "--all"}, "--state"},
		{"retry-max-wait below retry-wait", tokenEnv, []string{"--retry-wait", "2s", "--retry-max-wait", "1s", "s1"}, "--retry-max-wait"},
		{"sessions takes no message", tokenEnv, []string{"sessions", "--message", "x", "--all"}, "unknown flag: --message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := demoHorizon()
			r := runFake(t, h, tt.env, "", tt.args...)
			if !errors.Is(r.err, errUsage) || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("err = %v, want a usage error mentioning %q", r.err, tt.want)
			}
			if r.connects != 0 || len(h.calls) != 0 {
				t.Errorf("a usage error still connected (%d times) or sent messages (%d times)", r.connects, len(h.calls))
			}
			code := exitCode(r.err, &r.stderr)
			if code != exitTrouble {
				t.Errorf("exit %d, want %d", code, exitTrouble)
			}
			// One line of error and one pointer to --help: no flag list.
			lines := strings.Split(strings.TrimSpace(r.stderr.String()), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "sendmsg: ") || !strings.Contains(lines[1], "--help") {
				t.Errorf("stderr = %q, want the error once and a pointer to --help", r.stderr.String())
			}
		})
	}
}

func TestSendTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		wantIDs   []string
		wantErrIs error
	}{
		{"ids", []string{"s2", "s1"}, []string{"s2", "s1"}, nil},
		{"pool", []string{"--pool", "finance"}, []string{"s1", "s2", "s3"}, errSomeFailed},
		{"pool and state", []string{"--pool", "finance", "--state", "connected"}, []string{"s1", "s2"}, nil},
		{"user", []string{"--user", "u1"}, []string{"s1", "s4"}, nil},
		{"filter and ids, no repeats", []string{"--pool", "eng", "s4", "s1"}, []string{"s4", "s1"}, nil},
		{"all", []string{"--all"}, []string{"s1", "s2", "s3", "s4"}, errSomeFailed},
		{"unknown id", []string{"s1", "nope"}, []string{"s1", "nope"}, errSomeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := demoHorizon()
			r := runFake(t, h, tokenEnv, "Hello\n", tt.args...)
			if !errors.Is(r.err, tt.wantErrIs) || (tt.wantErrIs == nil && r.err != nil) {
				t.Fatalf("err = %v, want %v", r.err, tt.wantErrIs)
			}
			if diff := cmp.Diff([][]string{tt.wantIDs}, h.calls); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if h.texts[0] != "Hello" {
				t.Errorf("text = %q, want the standard input without its newline", h.texts[0])
			}
			if !h.closed {
				t.Error("did not log out")
			}
		})
	}
}

func TestCountdownStopsWhenEveryoneHasLeft(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	h.afterSend = func() { h.sessions = nil } // all log off after the first reminder
	r := runFake(t, h, tokenEnv, "", "--message", "x", "--countdown", "15m", "--every", "5m", "--pool", "finance", "--state", "connected")
	if r.err != nil {
		t.Fatalf("err = %v, want nil: everyone got the first reminder", r.err)
	}
	if len(h.calls) != 1 || !strings.Contains(r.stderr.String(), "stopped after 1 of 3 reminders") {
		t.Errorf("calls = %d, stderr %q", len(h.calls), r.stderr.String())
	}
}

func TestNoMatchIsAnError(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	r := runFake(t, h, tokenEnv, "", "--message", "x", "--pool", "none")
	if r.err == nil || errors.Is(r.err, errSomeFailed) || !strings.Contains(r.err.Error(), "no session") {
		t.Fatalf("err = %v, want a no-session error", r.err)
	}
}

func TestBatches(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	r := runFake(t, h, tokenEnv, "", "--message", "x", "--batch-size", "2", "--all")
	if !errors.Is(r.err, errSomeFailed) {
		t.Fatalf("err = %v", r.err)
	}
	want := [][]string{{"s1", "s2"}, {"s3", "s4"}}
	if diff := cmp.Diff(want, h.calls); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
}

// Errors as the client returns them, for the fake to return.
const (
	testSendURL    = "https://h/rest/inventory/v1/sessions/action/send-message"
	testRefreshURL = "https://h/rest/refresh"
)

func answered(status int, header ...string) error {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &client.APIError{Method: http.MethodPost, URL: testSendURL, StatusCode: status, Header: h}
}

func transportFailed(rawURL string, err error) error {
	return &url.Error{Op: "Post", URL: rawURL, Err: err}
}

var (
	refused = transportFailed(testSendURL, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	reset   = transportFailed(testSendURL, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
)

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		failures    []error
		retries     string
		wantCalls   int
		wantCode    int
		wantOutcome string // of s1 in the report
		wantWaits   []time.Duration
	}{
		{"503 then delivered", []error{answered(503)}, "3", 2, exitDelivered, outcomeDelivered, []time.Duration{time.Second}},
		{"429 and 503 honour Retry-After", []error{answered(429, "Retry-After", "7"), answered(503, "Retry-After", "0")}, "3", 3, exitDelivered, outcomeDelivered, []time.Duration{7 * time.Second, 2 * time.Second}},
		{"connection refused then delivered", []error{refused, refused}, "3", 3, exitDelivered, outcomeDelivered, []time.Duration{time.Second, 2 * time.Second}},
		{"503 past the retries", []error{answered(503), answered(503)}, "1", 2, exitTrouble, "", []time.Duration{time.Second}},
		{"Retry-After past --retry-max-wait", []error{answered(503, "Retry-After", "3600")}, "3", 1, exitTrouble, "", nil},
		{"500: the server may have acted", []error{answered(500)}, "3", 1, exitSomeFail, outcomeUnknown, nil},
		{"502: the server may have acted", []error{answered(502)}, "3", 1, exitSomeFail, outcomeUnknown, nil},
		{"504: the server may have acted", []error{answered(504)}, "3", 1, exitSomeFail, outcomeUnknown, nil},
		{"answer lost", []error{reset}, "3", 1, exitSomeFail, outcomeUnknown, nil},
		{"timeout", []error{transportFailed(testSendURL, context.DeadlineExceeded)}, "3", 1, exitSomeFail, outcomeUnknown, nil},
		{"unreadable 200", []error{errors.New("send message: read answer: unexpected EOF")}, "3", 1, exitSomeFail, outcomeUnknown, nil},
		{"4xx is final", []error{&client.APIError{URL: testSendURL, StatusCode: http.StatusUnauthorized}}, "3", 1, exitTrouble, "", nil},
		{"certificate refused is final", []error{transportFailed(testSendURL, &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})}, "3", 1, exitTrouble, "", nil},
		{"refresh failed with 500: nothing was sent", []error{fmt.Errorf("send message: refresh the access token: %w", &client.APIError{URL: testRefreshURL, StatusCode: 500})}, "3", 1, exitTrouble, "", nil},
		{"refresh refused: retried", []error{fmt.Errorf("send message: refresh the access token: %w", transportFailed(testRefreshURL, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}))}, "3", 2, exitDelivered, outcomeDelivered, []time.Duration{time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := demoHorizon()
			h.failNext = tt.failures
			r := runFake(t, h, tokenEnv, "", "--message", "x", "--retries", tt.retries, "--output", "json", "s1")
			if code := exitCode(r.err, &r.stderr); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; err %v", code, tt.wantCode, r.err)
			}
			if len(h.calls) != tt.wantCalls {
				t.Errorf("calls = %d, want %d", len(h.calls), tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantWaits, r.clock.Waits(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if tt.wantOutcome == "" {
				if r.stdout.Len() != 0 {
					t.Errorf("a report although nothing was sent: %s", r.stdout.String())
				}
				return
			}
			var report roundReport
			if err := json.Unmarshal(r.stdout.Bytes(), &report); err != nil {
				t.Fatalf("not one JSON report: %v\n%s", err, r.stdout.String())
			}
			if len(report.Results) != 1 || report.Results[0].Outcome != tt.wantOutcome {
				t.Fatalf("results = %+v, want s1 %s", report.Results, tt.wantOutcome)
			}
			if tt.wantOutcome == outcomeUnknown {
				got := report.Results[0]
				if report.Unknown != 1 || got.Delivered || got.StatusCode != 0 || !strings.Contains(got.Reason, "not sent again") {
					t.Errorf("report = %+v, want one unknown outcome that says it was not sent again", report)
				}
			}
		})
	}
}

// The waits double from --retry-wait, up to --retry-max-wait, and a random
// part between half and all of each is waited.
func TestRetryWaits(t *testing.T) {
	t.Parallel()
	o := &options{retryWait: time.Second, retryMaxWait: 5 * time.Second}
	for _, tt := range []struct {
		random float64
		want   []time.Duration
	}{
		{0.999999, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
		{0, []time.Duration{time.Second / 2, time.Second, 2 * time.Second, 5 * time.Second / 2, 5 * time.Second / 2}},
	} {
		r := retrier{o: o, d: &deps{random: func() float64 { return tt.random }}}
		var got []time.Duration
		for attempt := range len(tt.want) {
			wait, ok := r.wait(attempt, answered(503))
			if !ok {
				t.Fatalf("attempt %d: no wait", attempt)
			}
			got = append(got, wait.Round(time.Millisecond))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("random %v: waits (-want +got):\n%s", tt.random, diff)
		}
	}
}

// Of a batch that failed finally, the batches before are reported, and the
// error says how many sessions were not sent the message.
func TestLaterBatchFailsFinally(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	h.failNext = []error{nil, &client.APIError{URL: testSendURL, StatusCode: http.StatusBadRequest}}
	r := runFake(t, h, tokenEnv, "", "--message", "x", "--batch-size", "2", "--all")
	if code := exitCode(r.err, &r.stderr); code != exitTrouble {
		t.Fatalf("exit %d, want %d", code, exitTrouble)
	}
	if !strings.Contains(r.stdout.String(), "s1") || !strings.Contains(r.stderr.String(), "not sent to the other 2 sessions") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout.String(), r.stderr.String())
	}
}

// An unknown outcome does not stop the next batch: those are other sessions.
func TestUnknownBatchThenNext(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	h.failNext = []error{answered(502)}
	r := runFake(t, h, tokenEnv, "", "--message", "x", "--batch-size", "2", "--pool", "finance", "--state", "connected", "s4")
	if !errors.Is(r.err, errSomeFailed) {
		t.Fatalf("err = %v, want errSomeFailed", r.err)
	}
	if diff := cmp.Diff([][]string{{"s1", "s2"}, {"s4"}}, h.calls); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	out := squeeze(r.stdout.String())
	for _, want := range []string{"s1 u1 unknown answered 502", "s2 u2 unknown", "s4 u1 delivered", "2 unknown, not sent again"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout.String())
		}
	}
}

// squeeze turns each run of spaces into one, so that table rows can be
// matched without their alignment.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		lines[i] = strings.Join(strings.Fields(line), " ")
	}
	return strings.Join(lines, "\n")
}

func TestCountdown(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	r := runFake(t, h, tokenEnv, "", "--message", "Restart in {minutes} minutes", "--countdown", "15m", "--every", "5m", "s1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := []string{"Restart in 15 minutes", "Restart in 10 minutes", "Restart in 5 minutes"}
	if diff := cmp.Diff(want, h.texts); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stdout.String(), "Reminder 3 of 3 (5 minutes left)") {
		t.Errorf("stdout lacks the last reminder:\n%s", r.stdout.String())
	}
}

func TestJSONOutputAndAudit(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	r := runFake(t, h, tokenEnv, "", "--message", "x", "--type", "warning", "--output", "json", "--audit", audit, "s1", "nope")
	if !errors.Is(r.err, errSomeFailed) {
		t.Fatalf("err = %v", r.err)
	}
	var report roundReport
	if err := json.Unmarshal(r.stdout.Bytes(), &report); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, r.stdout.String())
	}
	if report.Delivered != 1 || report.Failed != 1 || len(report.Results) != 2 || report.Results[1].StatusCode != http.StatusNotFound {
		t.Errorf("report = %+v", report)
	}
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("audit has %d lines, want 2:\n%s", len(lines), b)
	}
	var first row
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.SessionID != "s1" || first.User != "u1" || first.Type != "WARNING" || first.Outcome != outcomeDelivered || !first.Delivered {
		t.Errorf("audit line = %+v", first)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	r := runFake(t, h, tokenEnv, "", "--dry-run", "--pool", "finance")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(h.calls) != 0 {
		t.Error("dry run sent messages")
	}
	out := r.stdout.String()
	for _, want := range []string{"s1", "s2", "s3", "DISCONNECTED", "3 sessions would be messaged"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
}

func TestConnectionErrorIsFinal(t *testing.T) {
	t.Parallel()
	r := runFake(t, nil, tokenEnv, "", "--message", "x", "s1")
	if r.err == nil || errors.Is(r.err, errSomeFailed) {
		t.Fatalf("err = %v, want a connection error", r.err)
	}
}

// Flags may follow the session ids, and "--" ends the flags.
func TestFlagsAnywhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantIDs  []string
		wantType client.MessageType
		wantText string
	}{
		{"type after the id", []string{"--message", "Restart now", "s1", "--type", "error"}, []string{"s1"}, client.MessageError, "Restart now"},
		{"message last", []string{"--type", "warning", "s1", "--message", "hi"}, []string{"s1"}, client.MessageWarning, "hi"},
		{"flags between ids", []string{"s1", "--message=hi", "s2", "--type=ERROR"}, []string{"s1", "s2"}, client.MessageError, "hi"},
		{"-- ends the flags", []string{"--message", "hi", "--", "s2", "s1"}, []string{"s2", "s1"}, client.MessageInfo, "hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := demoHorizon()
			r := runFake(t, h, tokenEnv, "", tt.args...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if diff := cmp.Diff([][]string{tt.wantIDs}, h.calls); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if h.types[0] != tt.wantType || h.texts[0] != tt.wantText {
				t.Errorf("sent %s %q, want %s %q", h.types[0], h.texts[0], tt.wantType, tt.wantText)
			}
		})
	}
}

// The sessions command is found wherever the flags are.
func TestSessionsCommandAfterFlags(t *testing.T) {
	t.Parallel()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	for _, args := range [][]string{
		{"--ca-file", ca, "sessions", "--pool", "finance"},
		{"sessions", "--pool", "finance", "--ca-file", ca},
		{"--pool", "finance", "sessions"},
	} {
		h := demoHorizon()
		r := runFake(t, h, tokenEnv, "", args...)
		if r.err != nil {
			t.Fatalf("%q: %v", args, r.err)
		}
		if len(h.calls) != 0 || !strings.Contains(r.stdout.String(), "3 sessions match") {
			t.Errorf("%q: sent %d times; stdout:\n%s", args, len(h.calls), r.stdout.String())
		}
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     []string
		wantNone []string
	}{
		{"--help", []string{"--help"}, []string{"Usage:\n  sendmsg [flags] [SESSION_ID...]", "--dry-run", "--ca-file FILE", "sessions", "Exit status"}, []string{" -dry-run"}},
		{"-h after other flags", []string{"--all", "-h"}, []string{"--countdown DURATION"}, nil},
		{"help", []string{"help"}, []string{"Usage:\n  sendmsg [flags] [SESSION_ID...]", "completion"}, nil},
		{"help sessions", []string{"help", "sessions"}, []string{"Usage:\n  sendmsg sessions [flags] [SESSION_ID...]", "--pool ID"}, []string{"--message", "--countdown"}},
		{"sessions --help", []string{"sessions", "--help"}, []string{"sendmsg sessions [flags]"}, []string{"--message"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runFake(t, demoHorizon(), nil, "", tt.args...)
			if r.err != nil || r.connects != 0 {
				t.Fatalf("err = %v, connects = %d; want help and nothing else", r.err, r.connects)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stdout.String(), want) {
					t.Errorf("help lacks %q:\n%s", want, r.stdout.String())
				}
			}
			for _, bad := range tt.wantNone {
				if strings.Contains(r.stdout.String(), bad) {
					t.Errorf("help has %q:\n%s", bad, r.stdout.String())
				}
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runFake(t, demoHorizon(), nil, "", "completion", shell)
		if r.err != nil || !strings.Contains(r.stdout.String(), "sendmsg") || r.connects != 0 {
			t.Errorf("completion %s: err %v, %d bytes", shell, r.err, r.stdout.Len())
		}
	}
	// What the shell scripts ask for: the values of --type.
	r := runFake(t, demoHorizon(), nil, "", "__complete", "s1", "--type", "")
	if r.err != nil || !strings.Contains(r.stdout.String(), "WARNING") {
		t.Errorf("completion of --type: err %v, output %q", r.err, r.stdout.String())
	}
}

func TestCountdownWording(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	r := runFake(t, h, tokenEnv, "", "--message", "Restarts in {minutes} minutes ({left}, {minutes} min)", "--countdown", "90s", "--every", "30s", "s1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := []string{
		"Restarts in 1 minute 30 seconds (1 minute 30 seconds, 2 min)",
		"Restarts in 1 minute (1 minute, 1 min)",
		"Restarts in 30 seconds (30 seconds, 1 min)",
	}
	if diff := cmp.Diff(want, h.texts); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stdout.String(), "Reminder 3 of 3 (30 seconds left)") {
		t.Errorf("stdout lacks the last reminder's line:\n%s", r.stdout.String())
	}
}

func TestTimeLeft(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		15 * time.Minute:                    "15 minutes",
		time.Minute:                         "1 minute",
		30 * time.Second:                    "30 seconds",
		time.Second:                         "1 second",
		90 * time.Second:                    "1 minute 30 seconds",
		15*time.Minute - 3*time.Millisecond: "15 minutes", // the time a round takes to start
		0:                                   "1 second",
	} {
		if got := timeLeft(d); got != want {
			t.Errorf("timeLeft(%s) = %q, want %q", d, got, want)
		}
	}
}

// Ctrl-C during a countdown: the report of what was sent, then exit 130.
func TestInterruptedCountdownExits130(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr bytes.Buffer
	err := runWith(ctx, []string{"--message", "m", "--countdown", "10m", "--every", "5m", "s1"}, &deps{
		getenv: func(k string) string { return tokenEnv[k] }, stdin: strings.NewReader(""),
		stdout: &stdout, stderr: &stderr, clock: &blockingClock{cancel: cancel}, random: func() float64 { return 1 },
		connect: func(context.Context, *options, *deps) (horizon, error) { return h, nil },
	})
	if code := exitCode(err, &stderr); code != exitInterrupted {
		t.Fatalf("exit %d, want %d (err %v)", code, exitInterrupted, err)
	}
	if !strings.Contains(stdout.String(), "INFO delivered to 1 of 1 session;") {
		t.Errorf("no report of the reminder sent:\n%s", stdout.String())
	}
	if got := stderr.String(); !strings.Contains(got, "stopped after 1 of 2 reminders") || !strings.HasSuffix(got, "sendmsg: interrupted\n") {
		t.Errorf("stderr = %q", got)
	}
	if !h.closed {
		t.Error("did not log out")
	}
}

// Explicit ids are looked up, so that the report names their users.
func TestExplicitIDsShowTheirUser(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	r := runFake(t, h, tokenEnv, "", "--message", "x", "s2", "nope")
	if !errors.Is(r.err, errSomeFailed) {
		t.Fatalf("err = %v", r.err)
	}
	if diff := cmp.Diff([][]string{{"s2", "nope"}}, h.lookups); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
	for _, want := range []string{"s2 u2 delivered", "nope - failed (404)"} {
		if !strings.Contains(squeeze(r.stdout.String()), want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout.String())
		}
	}
}

// A lookup that fails leaves the details empty; the message is still sent.
func TestFailedLookupStillSends(t *testing.T) {
	t.Parallel()
	h := demoHorizon()
	h.lookupErr = &client.APIError{URL: "https://h/rest/inventory/v1/sessions", StatusCode: http.StatusBadRequest}
	r := runFake(t, h, tokenEnv, "", "--message", "x", "s1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(h.calls) != 1 || !strings.Contains(r.stderr.String(), "could not be looked up") {
		t.Errorf("calls %d, stderr %q", len(h.calls), r.stderr.String())
	}
}

func TestCACertFromTheEnvironment(t *testing.T) {
	t.Parallel()
	withCA := map[string]string{envServer: "https://h", envToken: "t", envCACert: "/env/ca.pem"}
	tests := []struct {
		name         string
		args         []string
		wantCA       string
		wantInsecure bool
	}{
		{"the variable", nil, "/env/ca.pem", false},
		{"--ca-file wins", []string{"--ca-file", "/flag/ca.pem"}, "/flag/ca.pem", false},
		{"--insecure wins", []string{"--insecure"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runFake(t, demoHorizon(), withCA, "", append(tt.args, "--message", "x", "s1")...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.opts.CAFile != tt.wantCA || r.opts.Insecure != tt.wantInsecure {
				t.Errorf("ca-file %q, insecure %v; want %q, %v", r.opts.CAFile, r.opts.Insecure, tt.wantCA, tt.wantInsecure)
			}
		})
	}
}
