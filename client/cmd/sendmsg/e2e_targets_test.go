package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dropFilter stands in front of the server as a proxy that drops the
// sessions listing's filter parameter, which Horizon 8.0.0 does not
// document: the server then lists every session.
func dropFilter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("filter")
		r.URL.RawQuery = q.Encode()
		next.ServeHTTP(w, r)
	})
}

// Through a proxy that drops the filter, --pool would select every session
// of the pod: sendmsg sends nothing, lists nothing, and says why. Ids given
// as arguments do not depend on the filter, and are still sent.
func TestE2EServerThatIgnoresTheFilter(t *testing.T) {
	t.Parallel()
	rs, ts := newRefServer(t, dropFilter)
	rs.start(t, ts)
	for _, args := range [][]string{
		{"--pool", "pool-finance", "--dry-run"},
		{"--pool", "pool-finance", "--type", "warning", "--message", "Restart in 15 minutes"},
		{"sessions", "--pool", "pool-finance"},
		{"--pool", "pool-finance", "--state", "connected", "--message", "x", "--output", "json"},
	} {
		r := runCmd(t, rs.env(), nil, append(args, "--ca-file", rs.caFile)...)
		if r.code != exitTrouble {
			t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, exitTrouble, r.stdout, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%v: stdout shows what the server did not filter:\n%s", args, r.stdout)
		}
		for _, want := range []string{"the server listed 6 sessions for --pool pool-finance", "do not match", "it did not apply the filter", "Give the session ids as arguments instead"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, r.stderr)
			}
		}
	}
	if n := rs.sends.Load(); n != 0 {
		t.Errorf("%d send-message requests reached the server, want none", n)
	}

	r := runCmd(t, rs.env(), nil, "--ca-file", rs.caFile, "--message", "x", seedSession, financeSession2)
	if r.code != exitDelivered {
		t.Fatalf("ids: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff([]string{seedSession, financeSession2}, rs.delivered()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

// An id the server does not know is reported as not found, with exit 1.
func TestE2ESessionsUnknownID(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	r := runCmd(t, rs.env(), nil, "sessions", "--ca-file", rs.caFile, seedSession, "no-such-id")
	if r.code != exitSomeFail {
		t.Errorf("exit %d, want %d", r.code, exitSomeFail)
	}
	if !strings.Contains(squeeze(r.stdout), seedSession+" "+seedUser+" machine-fin-001 pool-finance CONNECTED") ||
		!strings.Contains(r.stdout, "1 session matches") || strings.Contains(r.stdout, "no-such-id") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if r.stderr != "sendmsg: not found: no-such-id\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
}
