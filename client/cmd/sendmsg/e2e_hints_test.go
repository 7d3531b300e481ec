package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/hzkit/sendmessage/internal/connflags"
)

// https:// to a port that serves plain HTTP gets the hint to use http://,
// as http:// to an HTTPS port gets the one to use https://
// (TestE2EConnectionHints).
func TestE2EHTTPSToAPlainHTTPPort(t *testing.T) {
	t.Parallel()
	rs, ts := newRefServer(t, nil)
	ts.Start()
	env := rs.env()
	env[envServer] = strings.Replace(ts.URL, "http://", "https://", 1)
	for _, args := range [][]string{{"--message", "x", seedSession}, {"sessions", "--all"}} {
		r := runCmd(t, env, nil, args...)
		if r.code != exitTrouble {
			t.Fatalf("%v: exit %d, want %d: %s", args, r.code, exitTrouble, r.stderr)
		}
		want := "answered in plain HTTP, not HTTPS, as the reference server does without -tls. For such a test server, use --server " + ts.URL + " "
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%v: stderr lacks %q:\n%s", args, want, r.stderr)
		}
	}
	if n := rs.requests.Load(); n != 0 {
		t.Errorf("the server saw %d requests, want none", n)
	}
}

// A --server without a scheme is a usage error that says what to write,
// before any password is asked for or request sent.
func TestServerWithoutAScheme(t *testing.T) {
	t.Parallel()
	for _, server := range []string{"127.0.0.1:8080", "horizon.example.com", "localhost:8443"} {
		h := demoHorizon()
		r := runFake(t, h, map[string]string{envServer: server, envToken: "t"}, "", "--message", "x", "s1")
		want := fmt.Sprintf("--server %s has no scheme: write https://%s, or http://%s for a test server without TLS", server, server, server)
		if r.err == nil || r.err.Error() != want || r.connects != 0 {
			t.Errorf("%s: err = %v, connects %d; want %q", server, r.err, r.connects, want)
		}
		if code := exitCode(r.err, &r.stderr); code != exitTrouble || strings.Contains(r.stderr.String(), "first path segment") {
			t.Errorf("%s: exit %d, stderr %q", server, code, r.stderr.String())
		}
	}
}

// A plain HTTP request that the server closes unanswered, as some HTTPS
// servers do, gets the hint to try https://.
func TestHTTPClosedUnansweredHint(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("log in: %w", &url.Error{Op: "Post", URL: "http://h:8443/rest/login", Err: io.EOF})
	hint := hintFor(err, &options{Settings: connflags.Settings{Server: "http://h:8443"}})
	if !strings.Contains(hint, "use --server https://h:8443") {
		t.Errorf("hint = %q", hint)
	}
	if hint := hintFor(err, &options{Settings: connflags.Settings{Server: "https://h:8443"}}); hint != "" {
		t.Errorf("over https://, hint = %q, want none", hint)
	}
}
