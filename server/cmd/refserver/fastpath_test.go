package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

const fastPathOffLine = "refserver: WARNING: fast path OFF"

// fastPathOff is a server that says its fast path could not be built.
type fastPathOff struct{ refServer }

const offReason = "operation sendMessageToSessions: not handled by the fast path:\n  Schema.ReadOnly (readOnly) is set"

func (fastPathOff) FastPath() model.FastPathStatus {
	reason := offReason
	return model.FastPathStatus{Active: false, Reason: &reason}
}

// TestRunSaysWhenTheFastPathIsOff wants one line on stderr at start-up, with
// the reason, when the server runs without its fast path.
func TestRunSaysWhenTheFastPathIsOff(t *testing.T) {
	t.Parallel()
	r := beginWith(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-fast-path-off"}, nil,
		func(cfg server.Config) (refServer, error) {
			srv, err := newServer(cfg)
			return fastPathOff{srv}, err
		})
	r.stdout.waitFor(t, "listening line", func(s string) bool { return strings.Contains(s, listenLine) }, r)
	logs := r.stderr.waitFor(t, "fast path line", func(s string) bool { return strings.Contains(s, fastPathOffLine) }, r)
	var lines []string
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "fast path") {
			lines = append(lines, line)
		}
	}
	want := fastPathOffLine + ", every send-message request goes through the generic validator (about half as fast): " +
		"operation sendMessageToSessions: not handled by the fast path: Schema.ReadOnly (readOnly) is set\n"
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("stderr lines about the fast path:\n%q\nwant one:\n%q", lines, want)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run = %v", err)
	}
}

// TestRunIsQuietWhenTheFastPathIsOn wants the fast path on for the shipped
// spec, and then no such line.
func TestRunIsQuietWhenTheFastPathIsOn(t *testing.T) {
	t.Parallel()
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-fast-path-on"}, nil)
	status, body := get(t, newClient(t), r.base+healthPath)
	var health model.Health
	decode(t, body, &health)
	if status != http.StatusOK || !health.FastPath.Active {
		t.Errorf("health: status %d, %s: want the fast path active", status, body)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("run = %v", err)
	}
	if logs := r.stderr.String(); strings.Contains(logs, fastPathOffLine) {
		t.Errorf("stderr says the fast path is off:\n%s", logs)
	}
}
