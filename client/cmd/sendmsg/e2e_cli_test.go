package main

import (
	"strings"
	"testing"

	"github.com/hzkit/sendmessage/gen/model"
)

// The command line as an administrator types it, against the reference
// server over HTTPS.

func TestE2EFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	r := runCmd(t, rs.env(), nil, "--message", "Restart now", seedSession, "--type", "error", "--ca-file", rs.caFile)
	if r.code != exitDelivered {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	messages := rs.store.Messages("")
	if len(messages) != 1 || messages[0].SessionID != seedSession ||
		messages[0].MessageType != model.DeliveredMessageMessageTypeERROR || messages[0].Message != "Restart now" {
		t.Errorf("delivered %+v, want one ERROR to %s", messages, seedSession)
	}

	r = runCmd(t, rs.env(), nil, "--ca-file", rs.caFile, "sessions", "--pool", "pool-finance")
	if r.code != exitDelivered || !strings.Contains(r.stdout, "3 sessions match") {
		t.Errorf("sessions after a flag: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// A mistake on the command line exits 2 before anything is sent, or even
// asked of the server.
func TestE2EUsageErrorsSendNothing(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	for _, args := range [][]string{
		{"--message", "hi", seedSession, "--nope"},
		{"--message", "hi", "--", seedSession, "--type", "error"},
		{"--message", "hi", seedSession, "sessions"},
		{"--message", "hi", "--type", "information", seedSession},
	} {
		r := runCmd(t, rs.env(), nil, append([]string{"--ca-file", rs.caFile}, args...)...)
		if r.code != exitTrouble || !strings.Contains(r.stderr, "Run 'sendmsg --help' for usage.") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a pointer to --help", args, r.code, r.stderr)
		}
	}
	if n := rs.requests.Load(); n != 0 {
		t.Errorf("the server saw %d requests, want none", n)
	}
}

func TestE2EHelp(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "sendmsg [flags] [SESSION_ID...]"},
		{[]string{"help", "sessions"}, "sendmsg sessions [flags]"},
		{[]string{"--help"}, "--dry-run"},
		{[]string{seedSession, "--pool", "p", "--help"}, "--retry-wait DURATION"},
	} {
		r := runCmd(t, rs.env(), nil, tt.args...)
		if r.code != exitDelivered || !strings.Contains(r.stdout, tt.want) || r.stderr != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout lacks %q?\n%s", tt.args, r.code, r.stderr, tt.want, r.stdout)
		}
	}
	if n := rs.requests.Load(); n != 0 {
		t.Errorf("help sent %d requests, want none", n)
	}
}
