package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
	// The USER column names the owner of a session given by id.
	if !strings.Contains(squeeze(r.stdout), seedSession+" "+seedUser+" delivered") {
		t.Errorf("report:\n%s", r.stdout)
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
		{[]string{"help", "sessions"}, "sendmsg sessions [flags] [SESSION_ID...]"},
		{[]string{"--help"}, "--dry-run"},
		{[]string{seedSession, "--pool", "p", "--help"}, "--retry-max-wait DURATION"},
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

// Without the server's certificate the error says what to do, in this order:
// --ca-file, the reference server's -tls-cert-out, --insecure.
func TestE2ECertificateHint(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	r := runCmd(t, rs.env(), nil, "--message", "x", seedSession)
	if r.code != exitTrouble {
		t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
	}
	last := -1
	for _, want := range []string{"x509: certificate signed by unknown authority", "--ca-file", "-tls-cert-out", "--insecure"} {
		i := strings.Index(r.stderr, want)
		if i <= last {
			t.Fatalf("stderr lacks %q after what came before:\n%s", want, r.stderr)
		}
		last = i
	}
	if strings.Count(r.stderr, "log in") != 1 {
		t.Errorf("the error repeats its prefix:\n%s", r.stderr)
	}
	if len(rs.delivered()) != 0 {
		t.Error("delivered without a trusted certificate")
	}
}

func TestE2EHorizonCACert(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	env := rs.env()
	env[envCACert] = rs.caFile
	r := runCmd(t, env, nil, "--message", "x", seedSession)
	if r.code != exitDelivered {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if diff := cmp.Diff([]string{seedSession}, rs.delivered()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

func TestE2EConnectionHints(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	plain := rs.env()
	plain[envServer] = strings.Replace(rs.url, "https://", "http://", 1)
	byName := rs.env()
	byName[envServer] = strings.Replace(rs.url, "127.0.0.1", "localhost", 1) // the test certificate names 127.0.0.1, not localhost
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"plain HTTP to the HTTPS port", plain, []string{"400 Bad Request", "use --server " + rs.url}},
		{"a name the certificate lacks", byName, []string{`not for "localhost"`, "127.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.env, nil, "--ca-file", rs.caFile, "--message", "x", seedSession)
			if r.code != exitTrouble {
				t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
}

// Each prefix of an error appears once.
func TestE2EErrorsSayEachPrefixOnce(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	r := runCmd(t, rs.env(), nil, "--ca-file", rs.caFile, "--token", "not-a-token", "--message", "x", "--pool", "pool-finance")
	if r.code != exitTrouble {
		t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
	}
	for _, prefix := range []string{"list sessions", "sendmsg:"} {
		if n := strings.Count(r.stderr, prefix); n != 1 {
			t.Errorf("%q appears %d times:\n%s", prefix, n, r.stderr)
		}
	}
}
