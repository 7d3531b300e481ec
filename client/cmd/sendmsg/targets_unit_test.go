package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/client"
)

// A server that ignores the filter lists sessions the target flags do not
// select: nothing is sent, nor listed, and the error says why.
func TestListingTheFlagsDoNotSelectIsRefused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--pool", "finance", "--message", "x"},
		{"--pool", "finance", "--dry-run"},
		{"sessions", "--pool", "finance"},
		{"--user", "u1", "--message", "x"},
		{"--pool", "finance", "--state", "connected", "--message", "x", "s4"},
		{"--pool", "finance", "--countdown", "10m", "--every", "5m", "--message", "x"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			h := demoHorizon()
			h.ignoresFilter = true
			r := runFake(t, h, tokenEnv, "", args...)
			if len(h.calls) != 0 {
				t.Errorf("sent %v", h.calls)
			}
			if code := exitCode(r.err, &r.stderr); code != exitTrouble {
				t.Errorf("exit %d, want %d", code, exitTrouble)
			}
			if r.stdout.Len() != 0 {
				t.Errorf("stdout shows a listing the server did not filter:\n%s", r.stdout.String())
			}
			for _, want := range []string{"the server listed 4 sessions for --", "it did not apply the filter, so nothing", "Horizon 8.0.0 documents none"} {
				if !strings.Contains(r.stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr.String())
				}
			}
			if !h.closed {
				t.Error("did not log out")
			}
		})
	}
}

// The message names a session that does not match, and how.
func TestListingRefusalNamesAStraySession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{
			[]string{"--pool", "finance", "--state", "connected", "--message", "x"},
			`the server listed 4 sessions for --pool finance --state CONNECTED, and 2 do not match (such as session s3: its session_state is "DISCONNECTED", not "CONNECTED"): it did not apply the filter, so nothing was sent`,
		},
		{
			[]string{"sessions", "--pool", "finance"},
			`the server listed 4 sessions for --pool finance, and 1 does not match (session s4: its desktop_pool_id is "eng", not "finance"): it did not apply the filter, so nothing is listed`,
		},
	}
	for _, tt := range tests {
		h := demoHorizon()
		h.ignoresFilter = true
		r := runFake(t, h, tokenEnv, "", tt.args...)
		if r.err == nil || r.err.Error() != tt.want {
			t.Errorf("%v: err = %v\nwant %s", tt.args, r.err, tt.want)
		}
	}
}

// --all asks for no filter, and ids are sent as given: neither depends on
// the server applying one.
func TestNoFilterNoRefusal(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--all"}, {"s1", "s4"}} {
		h := demoHorizon()
		h.ignoresFilter = true
		r := runFake(t, h, tokenEnv, "", append(args, "--message", "x")...)
		if len(h.calls) != 1 {
			t.Errorf("%v: err %v, sent %v", args, r.err, h.calls)
		}
	}
}

// "sendmsg sessions ID..." reports an id the server does not know as not
// found, and exits 1.
func TestSessionsReportsUnknownIDs(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"sessions", "s1", "nope", "gone"},
		{"--dry-run", "s1", "nope", "gone"},
	} {
		h := demoHorizon()
		r := runFake(t, h, tokenEnv, "", args...)
		if !errors.Is(r.err, errNotFound) {
			t.Fatalf("%v: err = %v, want errNotFound", args, r.err)
		}
		if code := exitCode(r.err, &r.stderr); code != exitSomeFail {
			t.Errorf("%v: exit %d, want %d", args, code, exitSomeFail)
		}
		out := squeeze(r.stdout.String())
		if !strings.Contains(out, "s1 u1 - finance CONNECTED") || strings.Contains(out, "nope") {
			t.Errorf("%v: stdout:\n%s", args, r.stdout.String())
		}
		if want := "sendmsg: not found: nope, gone\n"; r.stderr.String() != want {
			t.Errorf("%v: stderr = %q, want %q", args, r.stderr.String(), want)
		}
		if len(h.calls) != 0 {
			t.Errorf("%v: sent %v", args, h.calls)
		}
	}
}

func TestSessionsJSONLeavesUnknownIDsOut(t *testing.T) {
	t.Parallel()
	r := runFake(t, demoHorizon(), tokenEnv, "", "sessions", "--output", "json", "nope", "s2")
	if !errors.Is(r.err, errNotFound) {
		t.Fatalf("err = %v, want errNotFound", r.err)
	}
	var got []target
	if err := json.Unmarshal(r.stdout.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout.String())
	}
	if diff := cmp.Diff([]target{{ID: "s2", User: "u2", Pool: "finance", State: "CONNECTED"}}, got); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
}

// Every id found: exit 0. A lookup that fails: "sessions" cannot say which
// exist, so it fails, and does not call them missing.
func TestSessionsLookupOutcomes(t *testing.T) {
	t.Parallel()
	r := runFake(t, demoHorizon(), tokenEnv, "", "sessions", "s1", "s2")
	if r.err != nil || !strings.Contains(r.stdout.String(), "2 sessions match") {
		t.Errorf("all found: err %v, stdout:\n%s", r.err, r.stdout.String())
	}
	h := demoHorizon()
	h.lookupErr = &client.APIError{Method: "GET", URL: "https://h/rest/inventory/v1/sessions", StatusCode: http.StatusForbidden}
	r = runFake(t, h, tokenEnv, "", "sessions", "s1")
	if r.err == nil || errors.Is(r.err, errNotFound) || exitCode(r.err, &r.stderr) != exitTrouble {
		t.Errorf("lookup failed: err = %v, want exit %d", r.err, exitTrouble)
	}
	if strings.Contains(r.stderr.String(), "not found") || r.stdout.Len() != 0 {
		t.Errorf("lookup failed: stdout %q, stderr %q", r.stdout.String(), r.stderr.String())
	}
}
