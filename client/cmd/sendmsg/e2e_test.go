package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// The command is tested end to end against the reference server over HTTPS
// with its self-signed certificate, as an administrator would run it.

const adminPassword = "e2e-Passw0rd-9f3a"

// Demo sessions the tests target.
const (
	seedSession     = "7cdd624f-37d1-46c1-ab96-695a5d13956f"
	financeSession2 = "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f"
	financeOffline  = "9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
	engSession      = "4d3c2b1a-6f5e-4d7c-9b8a-0f1e2d3c4b5a"
	appSession      = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	seedUser        = "S-1-5-21-1085031214-1563985344-725345543-1104"
	user1105        = "S-1-5-21-1085031214-1563985344-725345543-1105"
)

type refServer struct {
	url, caFile string
	store       *server.MemoryStore
	requests    atomic.Int64 // requests that reached the server
	sends       atomic.Int64 // send-message requests that reached the server
	logs        *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startRefServer(t *testing.T) *refServer {
	t.Helper()
	rs, ts := newRefServer(t, nil)
	rs.start(t, ts)
	return rs
}

// newRefServer is the reference server, not yet started. front, when not
// nil, stands in front of it as a gateway would: its own answers are not the
// server's, and are not held to the spec.
func newRefServer(t *testing.T, front func(http.Handler) http.Handler) (*refServer, *httptest.Server) {
	t.Helper()
	return newRefServerWithFaults(t, front, nil)
}

// newRefServerWithFaults is newRefServer with fault rules in force.
func newRefServerWithFaults(t *testing.T, front func(http.Handler) http.Handler, faults []model.FaultRule) (*refServer, *httptest.Server) {
	t.Helper()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	rs := &refServer{store: server.NewMemoryStore(sessions), logs: &lockedBuffer{}}
	srv, err := server.New(server.Config{
		Users:  []model.ReferenceUser{server.DemoAdministrator(adminPassword)},
		Store:  rs.store,
		Logger: slog.New(slog.NewJSONHandler(rs.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Faults: faults,
	})
	if err != nil {
		t.Fatal(err)
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.requests.Add(1)
		if strings.HasSuffix(r.URL.Path, "/action/send-message") {
			rs.sends.Add(1)
		}
		srv.ServeHTTP(w, r)
	})
	handler := spectest.Load(t).Handler(t, counted)
	if front != nil {
		handler = front(handler)
	}
	ts := httptest.NewUnstartedServer(handler)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	t.Cleanup(ts.Close)
	return rs, ts
}

// start serves HTTPS and writes the server's certificate to rs.caFile.
func (rs *refServer) start(t *testing.T, ts *httptest.Server) {
	t.Helper()
	ts.StartTLS()
	rs.url = ts.URL
	rs.caFile = filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(rs.caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (rs *refServer) env() map[string]string {
	return map[string]string{
		envServer: rs.url, envUsername: server.DemoAdminUsername, envDomain: server.DemoAdminDomain,
		envPassword: adminPassword,
	}
}

// delivered returns the session ids the server recorded, in order.
func (rs *refServer) delivered() []string {
	var ids []string
	for _, m := range rs.store.Messages("") {
		ids = append(ids, m.SessionID)
	}
	return ids
}

type cmdRun struct {
	stdout, stderr string
	code           int
}

// runCmd runs sendmsg with the real connection code, and a fake clock when one is given.
func runCmd(t *testing.T, env map[string]string, clk clock, args ...string) cmdRun {
	t.Helper()
	if clk == nil {
		clk = realClock{}
	}
	var stdout, stderr bytes.Buffer
	err := runWith(t.Context(), args, &deps{
		getenv: func(k string) string { return env[k] },
		stdin:  strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		clock: clk, random: func() float64 { return 1 }, connect: connect,
	})
	code := exitCode(err, &stderr)
	return cmdRun{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestE2ETargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     []string
		wantCode int
	}{
		{"ids", []string{seedSession, engSession}, []string{seedSession, engSession}, 0},
		{"pool, connected", []string{"--pool", "pool-finance", "--state", "connected"}, []string{seedSession, financeSession2}, 0},
		{"pool, all states", []string{"--pool", "pool-finance"}, []string{seedSession, financeSession2}, 1},
		{"user", []string{"--user", user1105}, []string{financeSession2, appSession}, 0},
		{"machine", []string{"--machine", "machine-eng-001"}, []string{engSession}, 0},
		{"all", []string{"--all"}, []string{seedSession, financeSession2, engSession, appSession}, 1},
		{"unknown id", []string{seedSession, "no-such-session"}, []string{seedSession}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := startRefServer(t)
			args := append([]string{"--ca-file", rs.caFile, "--type", "warning", "--message", "Restart in 15 minutes"}, tt.args...)
			r := runCmd(t, rs.env(), nil, args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if diff := cmp.Diff(tt.want, rs.delivered()); diff != "" {
				t.Errorf("delivered (-want +got):\n%s", diff)
			}
			for _, m := range rs.store.Messages("") {
				if m.MessageType != model.DeliveredMessageMessageTypeWARNING || m.Message != "Restart in 15 minutes" {
					t.Errorf("recorded %s %q", m.MessageType, m.Message)
				}
			}
		})
	}
}

func TestE2EDryRunAndSessions(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	for _, args := range [][]string{
		{"--dry-run", "--pool", "pool-finance"},
		{"sessions", "--pool", "pool-finance"},
	} {
		r := runCmd(t, rs.env(), nil, append(args, "--ca-file", rs.caFile)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		for _, want := range []string{seedSession, financeSession2, financeOffline, "DISCONNECTED", "machine-fin-003", seedUser} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
	if got := rs.delivered(); len(got) != 0 {
		t.Errorf("dry run and listing delivered %v", got)
	}
}

func TestE2ESessionsJSON(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	r := runCmd(t, rs.env(), nil, "sessions", "--ca-file", rs.caFile, "--state", "PENDING", "--output", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []target
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if len(got) != 1 || got[0].State != "PENDING" || got[0].Pool != "pool-engineering" {
		t.Errorf("sessions = %+v", got)
	}
}

func TestE2ECountdown(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	clk := newFakeClock(time.Now())
	r := runCmd(t, rs.env(), clk, "--ca-file", rs.caFile, "--message", "Restart in {minutes} min",
		"--countdown", "15m", "--every", "5m", seedSession)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var texts []string
	for _, m := range rs.store.Messages(seedSession) {
		texts = append(texts, m.Message)
	}
	want := []string{"Restart in 15 min", "Restart in 10 min", "Restart in 5 min"}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
}

func TestE2EBatchesJSONAndAudit(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	r := runCmd(t, rs.env(), nil, "--ca-file", rs.caFile, "--message", "x", "--batch-size", "2",
		"--output", "json", "--audit", audit, "--all")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (two sessions are not connected): %s", r.code, r.stderr)
	}
	if got := rs.sends.Load(); got != 3 {
		t.Errorf("send-message requests = %d, want 3 for 6 sessions in batches of 2", got)
	}
	var report roundReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if report.Delivered != 4 || report.Failed != 2 || len(report.Results) != 6 {
		t.Errorf("report: delivered %d, failed %d, %d results", report.Delivered, report.Failed, len(report.Results))
	}
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 6 {
		t.Fatalf("audit lines = %d, want 6", len(lines))
	}
	var first row
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.SessionID != seedSession || first.User != seedUser || first.Type != "INFO" || !first.Delivered || first.Time.IsZero() {
		t.Errorf("first audit line = %+v", first)
	}
}

func TestE2EFailures(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	wrong := rs.env()
	wrong[envPassword] = "not-the-password"
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		wantIn string
	}{
		{"wrong password", wrong, []string{"--ca-file", rs.caFile, "--message", "x", seedSession}, "401"},
		{"untrusted certificate", rs.env(), []string{"--message", "x", seedSession}, "certificate"},
		{"no target", rs.env(), []string{"--ca-file", rs.caFile, "--message", "x"}, "no target"},
		{"nothing matches", rs.env(), []string{"--ca-file", rs.caFile, "--message", "x", "--pool", "nope"}, "no session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.env, nil, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.wantIn) {
				t.Errorf("exit %d, stderr %q; want 2 and a message with %q", r.code, r.stderr, tt.wantIn)
			}
		})
	}
}

func TestE2EInsecureWarns(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	r := runCmd(t, rs.env(), nil, "--insecure", "--message", "x", seedSession)
	if r.code != 0 || !strings.Contains(r.stderr, "WARNING: --insecure") {
		t.Errorf("exit %d, stderr %q; want 0 and a warning", r.code, r.stderr)
	}
}

func TestE2EPasswordNeverShown(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	wrong := rs.env()
	wrong[envPassword] = "wrong-Passw0rd-77"
	var out strings.Builder
	for _, env := range []map[string]string{rs.env(), wrong} {
		r := runCmd(t, env, nil, "--ca-file", rs.caFile, "--message", "x", "--pool", "pool-finance")
		out.WriteString(r.stdout + r.stderr)
	}
	all := out.String() + rs.logs.String()
	for _, secret := range []string{adminPassword, "wrong-Passw0rd-77"} {
		if strings.Contains(all, secret) {
			t.Errorf("a password appears in the output or the server log")
		}
	}
	if !strings.Contains(rs.logs.String(), "/login") {
		t.Error("the server log saw no login: the check above proves nothing")
	}
}

// Ctrl-C during a countdown stops it, still logs out, and exits 130.
func TestE2EInterruptedCountdownLogsOut(t *testing.T) {
	t.Parallel()
	rs := startRefServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	clk := &blockingClock{cancel: cancel}
	var stdout, stderr bytes.Buffer
	env := rs.env()
	err := runWith(ctx, []string{"--ca-file", rs.caFile, "--message", "m", "--countdown", "10m", "--every", "5m", seedSession},
		&deps{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""),
			stdout: &stdout, stderr: &stderr, clock: clk, random: func() float64 { return 1 }, connect: connect})
	if code := exitCode(err, &stderr); code != exitInterrupted {
		t.Fatalf("exit %d, want %d: err %v", code, exitInterrupted, err)
	}
	if !strings.Contains(stderr.String(), "stopped after 1 of 2 reminders") {
		t.Errorf("stderr = %q", stderr.String())
	}
	if diff := cmp.Diff([]string{seedSession}, rs.delivered()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if !strings.Contains(rs.logs.String(), "/logout") {
		t.Error("no logout after the interrupt")
	}
}

// blockingClock never fires; asking it to wait cancels the run, as Ctrl-C would.
type blockingClock struct {
	cancel context.CancelFunc
}

func (c *blockingClock) Now() time.Time { return time.Now() }

func (c *blockingClock) After(time.Duration) <-chan time.Time {
	c.cancel()
	return nil
}
