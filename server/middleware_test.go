package server_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

func jsonLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// accessLines returns the access log lines of the log.
func accessLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range logLines(t, log) {
		if line["msg"] == "request" {
			out = append(out, line)
		}
	}
	return out
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	const wrongToken = "wrong-token-7d41be"
	tests := []struct {
		name          string
		method, path  string
		authorization string
		body          string
		wantStatus    int
	}{
		{"delivered", http.MethodPost, sendPath, "Bearer " + testToken, `{"message":"m","message_type":"INFO","session_ids":["` + idConnected + `"]}`, 200},
		{"bad request", http.MethodPost, sendPath, "Bearer " + testToken, `{"message":"m","message_type":"info","session_ids":["a"]}`, 400},
		{"wrong token", http.MethodPost, sendPath, "Bearer " + wrongToken, `{"message":"m","message_type":"INFO","session_ids":["a"]}`, 401},
		{"wrong token, lower-case scheme", http.MethodGet, messagesPath, "bearer " + wrongToken, "", 401},
		{"inspection", http.MethodGet, messagesPath + "?session_id=" + idConnected, "Bearer " + testToken, "", 200},
		{"not found", http.MethodGet, server.BasePath + "/nope", "Bearer " + testToken, "", 404},
		{"health", http.MethodGet, healthPath, "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log syncBuffer
			srv := newTestServer(t, server.Config{Logger: jsonLogger(&log)})
			resp := srv.do(t, srv.request(t, tt.method, tt.path, tt.authorization, tt.body))
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
			lines := accessLines(t, log.String())
			if len(lines) != 1 {
				t.Fatalf("%d access log lines, want 1; log:\n%s", len(lines), log.String())
			}
			line := lines[0]
			wantPath, _, _ := strings.Cut(tt.path, "?")
			if line["method"] != tt.method || line["path"] != wantPath || line["status"] != float64(tt.wantStatus) {
				t.Errorf("access log = %v, want method %s path %s status %d", line, tt.method, wantPath, tt.wantStatus)
			}
			if id, _ := line["request_id"].(string); id == "" || id != resp.header.Get("X-Request-Id") {
				t.Errorf("access log request_id = %v, response X-Request-Id = %q", line["request_id"], resp.header.Get("X-Request-Id"))
			}
			for _, secret := range []string{testToken, wrongToken} {
				if strings.Contains(log.String(), secret) {
					t.Errorf("log holds a token %q:\n%s", secret, log.String())
				}
			}
		})
	}
}

// panicStore panics when a session is looked up, as a broken store might.
type panicStore struct {
	*server.MemoryStore
}

const panicText = "store exploded: secret-detail-4411"

func (panicStore) Session(string) (model.SessionInfo, bool) { panic(panicText) }

func TestPanicBecomesInternalError(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	store := panicStore{server.NewMemoryStore(testSessions())}
	srv := newTestServer(t, server.Config{Store: store, Logger: jsonLogger(&log)})

	// Twice: a panic must not break the next request.
	for i := range 2 {
		resp := srv.send(t, sendBody(t, "m", "INFO", idConnected))
		e := wantError(t, resp, http.StatusInternalServerError, "")
		if e.ErrorMessage != "internal server error" {
			t.Errorf("send %d: error_message = %q, want the generic text", i+1, e.ErrorMessage)
		}
		if strings.Contains(string(resp.body), "secret-detail") || strings.Contains(string(resp.body), "panic") {
			t.Errorf("send %d: 500 body leaks the panic: %s", i+1, resp.body)
		}
	}
	// The server goes on serving.
	resp := srv.do(t, srv.request(t, http.MethodGet, healthPath, "", ""))
	if resp.status != http.StatusOK {
		t.Errorf("health after panics: status %d; body %s", resp.status, resp.body)
	}
	if got := store.Messages(""); len(got) != 0 {
		t.Errorf("a failed request recorded %+v", got)
	}

	var panics, statuses []string
	for _, line := range logLines(t, log.String()) {
		switch line["msg"] {
		case "panic in handler":
			stack, _ := line["stack"].(string)
			if !strings.Contains(stack, "goroutine") || !strings.Contains(stack, "panicStore") {
				t.Errorf("panic log has no useful stack: %q", stack)
			}
			if errText, _ := line["error"].(string); !strings.Contains(errText, panicText) {
				t.Errorf("panic log error = %q, want the panic value", errText)
			}
			panics = append(panics, "panic")
		case "request":
			statuses = append(statuses, fmt.Sprint(line["status"]))
		}
	}
	if len(panics) != 2 {
		t.Errorf("%d panic log lines, want 2; log:\n%s", len(panics), log.String())
	}
	if got, want := strings.Join(statuses, ","), "500,500,200"; got != want {
		t.Errorf("access log statuses = %s, want %s", got, want)
	}
}

func TestRequestIDFromTheRequestIsKept(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	srv := newTestServer(t, server.Config{Logger: jsonLogger(&log)})
	req := srv.request(t, http.MethodGet, healthPath, "", "")
	req.Header.Set("X-Request-Id", "caller-id-42")
	resp := srv.do(t, req)
	if got := resp.header.Values("X-Request-Id"); len(got) != 1 || got[0] != "caller-id-42" {
		t.Errorf("X-Request-Id = %q, want the request's", got)
	}
	lines := accessLines(t, log.String())
	if len(lines) != 1 || lines[0]["request_id"] != "caller-id-42" {
		t.Errorf("access log = %v, want request_id caller-id-42", lines)
	}
}

// A request whose connection a fault rule closes without an answer is still
// logged and counted, with status 0, and gives back its place in the
// in-flight gauge.
func TestAbortedRequestIsLoggedAndCounted(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	srv, err := server.New(server.Config{Token: testToken, Sessions: testSessions(), Logger: jsonLogger(&log)})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: httptest.NewServer(srv)}
	t.Cleanup(ts.Close)
	ts.addFault(t, `{"operation":"sendMessageToSessions","action":"close_after_acting","times":1}`)
	resp, err := ts.Client().Do(ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, sendBody(t, "m", "INFO", idConnected)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d; want the connection closed", resp.StatusCode)
	}
	var sends []map[string]any
	for _, line := range accessLines(t, log.String()) {
		if line["path"] == sendPath {
			sends = append(sends, line)
		}
	}
	if len(sends) != 1 || sends[0]["status"] != float64(0) {
		t.Errorf("access log of the send = %v, want one line with status 0; log:\n%s", sends, log.String())
	}
	if got := gauge(t, srv, "refserver_requests_in_flight"); got != 0 {
		t.Errorf("requests in flight = %v after the closed request, want 0", got)
	}
}
