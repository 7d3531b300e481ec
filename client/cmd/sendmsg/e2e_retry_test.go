package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hzkit/sendmessage/gen/model"
)

// A gateway stands in front of the reference server, as a load balancer in
// front of a Connection Server does, and fails send-message requests as its
// script says. Its own answers are not the server's: the spec does not
// declare them, and they are not held to it.
type gateway struct {
	mu     sync.Mutex
	script []gatewayStep // one per send-message request, in order; then pass
	sends  int           // send-message requests that reached the gateway
}

type gatewayStep struct {
	forward    bool   // pass the request on to the server first (it acts)
	status     int    // then answer this, not the server's answer
	retryAfter string // Retry-After of that answer
	hangUp     bool   // or close the connection without an answer
}

func (g *gateway) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, sendMessagePath) {
			next.ServeHTTP(w, r)
			return
		}
		g.mu.Lock()
		g.sends++
		step := gatewayStep{forward: true}
		if len(g.script) > 0 {
			step, g.script = g.script[0], g.script[1:]
		}
		g.mu.Unlock()
		if step.forward && step.status == 0 && !step.hangUp {
			next.ServeHTTP(w, r)
			return
		}
		if step.forward {
			next.ServeHTTP(httptest.NewRecorder(), r) // the server acts; its answer is lost
		}
		if step.hangUp {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		if step.retryAfter != "" {
			w.Header().Set("Retry-After", step.retryAfter)
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(step.status)
		_, _ = w.Write([]byte("<html><body>" + http.StatusText(step.status) + "</body></html>"))
	})
}

func (g *gateway) sent() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sends
}

func TestE2ERetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		script      []gatewayStep
		wantCode    int
		wantSends   int // that reached the gateway
		wantWaits   []time.Duration
		wantOutcome string
	}{
		{
			name:     "503 with Retry-After, then delivered",
			script:   []gatewayStep{{status: http.StatusServiceUnavailable, retryAfter: "2"}},
			wantCode: exitDelivered, wantSends: 2, wantWaits: []time.Duration{2 * time.Second}, wantOutcome: outcomeDelivered,
		},
		{
			name:     "429, then delivered",
			script:   []gatewayStep{{status: http.StatusTooManyRequests}},
			wantCode: exitDelivered, wantSends: 2, wantWaits: []time.Duration{time.Second}, wantOutcome: outcomeDelivered,
		},
		{
			name:     "500 once, after the server delivered: unknown, not sent again",
			script:   []gatewayStep{{forward: true, status: http.StatusInternalServerError}},
			wantCode: exitSomeFail, wantSends: 1, wantOutcome: outcomeUnknown,
		},
		{
			name:     "502 once, after the server delivered: unknown, not sent again",
			script:   []gatewayStep{{forward: true, status: http.StatusBadGateway}},
			wantCode: exitSomeFail, wantSends: 1, wantOutcome: outcomeUnknown,
		},
		{
			name:     "answer lost after the server delivered: unknown, not sent again",
			script:   []gatewayStep{{forward: true, hangUp: true}},
			wantCode: exitSomeFail, wantSends: 1, wantOutcome: outcomeUnknown,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &gateway{script: tt.script}
			rs, ts := newRefServer(t, g.front)
			rs.start(t, ts)
			clk := newFakeClock(time.Now())
			audit := filepath.Join(t.TempDir(), "audit.jsonl")
			r := runCmd(t, rs.env(), clk, "--ca-file", rs.caFile, "--message", "Restart in 15 minutes",
				"--output", "json", "--audit", audit, seedSession)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			// Whatever the gateway said, the user saw the message once.
			if diff := cmp.Diff([]string{seedSession}, rs.delivered()); diff != "" {
				t.Errorf("delivered (-want +got):\n%s", diff)
			}
			if got := g.sent(); got != tt.wantSends {
				t.Errorf("send-message requests = %d, want %d", got, tt.wantSends)
			}
			if diff := cmp.Diff(tt.wantWaits, clk.Waits(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			var report roundReport
			if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
				t.Fatalf("not one JSON report: %v\n%s", err, r.stdout)
			}
			b, err := os.ReadFile(audit)
			if err != nil {
				t.Fatal(err)
			}
			var audited row
			if err := json.Unmarshal(b, &audited); err != nil {
				t.Fatalf("audit is not one JSON line: %v\n%s", err, b)
			}
			for _, got := range []row{report.Results[0], audited} {
				if got.SessionID != seedSession || got.User != seedUser || got.Outcome != tt.wantOutcome {
					t.Errorf("row = %+v, want %s for %s of %s", got, tt.wantOutcome, seedSession, seedUser)
				}
			}
			if tt.wantOutcome == outcomeUnknown && (report.Unknown != 1 || !strings.Contains(r.stderr, "not sent again")) {
				t.Errorf("unknown = %d, stderr %q", report.Unknown, r.stderr)
			}
		})
	}
}

// A login to a port where nothing listens yet is tried again; the server
// comes up during the first wait.
func TestE2ELoginRetriedUntilTheServerIsUp(t *testing.T) {
	t.Parallel()
	// The test certificate of httptest is the same for every server: the
	// file of one trusts the other.
	trusted := startRefServer(t)
	addr := freeAddr(t)
	rs, ts := newRefServer(t, nil)
	clk := newFakeClock(time.Now())
	clk.onWait = func(n int) {
		if n != 1 {
			return
		}
		var lc net.ListenConfig
		listener, err := lc.Listen(t.Context(), "tcp", addr)
		if err != nil {
			t.Errorf("listen on %s again: %v", addr, err)
			return
		}
		ts.Listener = listener
		rs.start(t, ts)
	}
	env := trusted.env()
	env[envServer] = "https://" + addr
	r := runCmd(t, env, clk, "--ca-file", trusted.caFile, "--message", "x", seedSession)
	if r.code != exitDelivered {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "connection refused; retry 1 of 3") {
		t.Errorf("stderr = %q, want the refused login and its retry", r.stderr)
	}
	if diff := cmp.Diff([]string{seedSession}, rs.delivered()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if len(trusted.delivered()) != 0 {
		t.Error("the other server was messaged")
	}
}

// With nothing ever listening, the login is tried --retries more times, then
// the command says to check the server.
func TestE2ELoginToAClosedPort(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	env := map[string]string{envServer: "https://" + addr, envUsername: "administrator", envDomain: "EXAMPLE", envPassword: "p"}
	tests := []struct {
		retries   string
		wantWaits []time.Duration
		want      string
	}{
		{"2", []time.Duration{time.Second, 2 * time.Second}, "(tried 3 times)"},
		{"0", []time.Duration{}, "(not retried: --retries is 0)"},
	}
	for _, tt := range tests {
		clk := newFakeClock(time.Now())
		r := runCmd(t, env, clk, "--insecure", "--retries", tt.retries, "--message", "x", seedSession)
		if r.code != exitTrouble {
			t.Fatalf("--retries %s: exit %d, want 2: %s", tt.retries, r.code, r.stderr)
		}
		if diff := cmp.Diff(tt.wantWaits, clk.Waits()); diff != "" {
			t.Errorf("--retries %s: waits (-want +got):\n%s", tt.retries, diff)
		}
		for _, want := range []string{tt.want, "is the server running"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("--retries %s: stderr lacks %q:\n%s", tt.retries, want, r.stderr)
			}
		}
		if strings.Contains(r.stderr, " 1 times") {
			t.Errorf("--retries %s: stderr says \"1 times\":\n%s", tt.retries, r.stderr)
		}
	}
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	reserved, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := reserved.Addr().String()
	if err := reserved.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// The reference server's own fault rules, no gateway in front: sendmsg
// retries only what the server cannot have acted on, never sends a message
// twice, and reports a session that failed with the server's reason.
func TestE2EInjectedFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		rule        string
		args        []string
		wantCode    int
		wantSends   int
		wantWaits   []time.Duration
		wantRows    []row // session, outcome, status and reason of each
		wantUnknown bool  // the delivery is marked as unanswered
	}{
		{
			name:     "503 with Retry-After, then delivered",
			rule:     `{"operation":"sendMessageToSessions","action":"respond","status":503,"retry_after_seconds":3,"times":1}`,
			wantCode: exitDelivered, wantSends: 2, wantWaits: []time.Duration{3 * time.Second},
			wantRows: []row{{SessionID: seedSession, Outcome: outcomeDelivered, Delivered: true, StatusCode: 200}},
		},
		{
			name:     "answer lost after the message was shown: unknown, not sent again",
			rule:     `{"operation":"sendMessageToSessions","action":"close_after_acting","times":1}`,
			wantCode: exitSomeFail, wantSends: 1, wantUnknown: true,
			wantRows: []row{{SessionID: seedSession, Outcome: outcomeUnknown}},
		},
		{
			name:     "502 after the message was shown: unknown, not sent again",
			rule:     `{"operation":"sendMessageToSessions","action":"respond","status":502,"after_acting":true,"times":1}`,
			wantCode: exitSomeFail, wantSends: 1, wantUnknown: true,
			wantRows: []row{{SessionID: seedSession, Outcome: outcomeUnknown}},
		},
		{
			name:     "an answer slower than --timeout: unknown, not sent again",
			rule:     `{"operation":"sendMessageToSessions","action":"delay","delay_ms":600000}`,
			args:     []string{"--timeout", "300ms"},
			wantCode: exitSomeFail, wantSends: 1,
			wantRows: []row{{SessionID: seedSession, Outcome: outcomeUnknown}},
		},
		{
			name:     "one session's agent does not answer: failed, with the reason",
			rule:     `{"operation":"sendMessageToSessions","session_ids":["` + seedSession + `"],"action":"fail_sessions","item_status":504,"error_key":"agent.timeout","error_message":"The Horizon Agent did not answer in time."}`,
			wantCode: exitSomeFail, wantSends: 1,
			wantRows: []row{{SessionID: seedSession, Outcome: outcomeFailed, StatusCode: 504, Reason: "The Horizon Agent did not answer in time."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rule model.FaultRule
			if err := json.Unmarshal([]byte(tt.rule), &rule); err != nil {
				t.Fatal(err)
			}
			rs, ts := newRefServerWithFaults(t, nil, []model.FaultRule{rule})
			rs.start(t, ts)
			clk := newFakeClock(time.Now())
			args := append([]string{"--ca-file", rs.caFile, "--message", "Restart in 15 minutes", "--output", "json", seedSession}, tt.args...)
			r := runCmd(t, rs.env(), clk, args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if got := int(rs.sends.Load()); got != tt.wantSends {
				t.Errorf("send-message requests = %d, want %d", got, tt.wantSends)
			}
			if diff := cmp.Diff(tt.wantWaits, clk.Waits(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			var report roundReport
			if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
				t.Fatalf("not one JSON report: %v\n%s", err, r.stdout)
			}
			got := make([]row, len(report.Results))
			for i, res := range report.Results {
				got[i] = row{SessionID: res.SessionID, Outcome: res.Outcome, Delivered: res.Delivered, StatusCode: res.StatusCode, Reason: res.Reason}
				if res.Outcome == outcomeUnknown {
					got[i].Reason = "" // says why in the client's words
				}
			}
			if diff := cmp.Diff(tt.wantRows, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			// What the server did: one delivery at most, marked when its
			// answer was dropped.
			messages := rs.store.Messages("")
			wantDelivered := 1
			if tt.wantRows[0].Outcome == outcomeFailed {
				wantDelivered = 0
			}
			if len(messages) != wantDelivered {
				t.Fatalf("record %+v, want %d deliveries", messages, wantDelivered)
			}
			if wantDelivered == 1 && (messages[0].FaultID != nil) != tt.wantUnknown {
				t.Errorf("delivery marked %v, want %v", messages[0].FaultID, tt.wantUnknown)
			}
		})
	}
}
