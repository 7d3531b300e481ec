package spectest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hzkit/sendmessage/internal/spectest"
)

const (
	sendPath     = "/rest/inventory/v1/sessions/action/send-message"
	messagesPath = "/rest/refserver/v1/messages"
	healthPath   = "/rest/refserver/v1/health"
	sessionsPath = "/rest/inventory/v1/sessions"
)

// The checker must refuse answers that break the spec: it must refuse
// answers that break the spec.
func TestCheckFindsBreaches(t *testing.T) {
	t.Parallel()
	c := spectest.Load(t)
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	errorBody := `{"error_message":"x","error_messages":["x"],"errors":[{"error_key":"k","error_message":"x"}]}`
	tests := []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         string
		wantOK       bool
	}{
		{"valid send result", http.MethodPost, sendPath, 200, jsonHeader, `[{"id":"a","status_code":200,"timestamp":1}]`, true},
		{"send result null", http.MethodPost, sendPath, 200, jsonHeader, `null`, false},
		{"item without timestamp", http.MethodPost, sendPath, 200, jsonHeader, `[{"id":"a","status_code":200}]`, false},
		{"undeclared status", http.MethodPost, sendPath, 418, jsonHeader, errorBody, false},
		{"error without errors", http.MethodPost, sendPath, 400, jsonHeader, `{"error_message":"x","error_messages":["x"]}`, false},
		{"wrong content type", http.MethodPost, sendPath, 400, http.Header{"Content-Type": {"text/plain"}}, errorBody, false},
		{"health without count", http.MethodGet, healthPath, 200, jsonHeader, `{"status":"ok"}`, false},
		{"messages null", http.MethodGet, messagesPath, 200, jsonHeader, `{"messages":null}`, false},
		{"sequence zero", http.MethodGet, messagesPath, 200, jsonHeader, `{"messages":[{"sequence":0,"session_id":"a","message":"m","message_type":"INFO","timestamp":1}]}`, false},
		{"no route, valid error", http.MethodGet, "/rest/nope", 404, jsonHeader, errorBody, true},
		{"no route, bad error body", http.MethodGet, "/rest/nope", 404, jsonHeader, `{"message":"x"}`, false},
		{"no route, success", http.MethodGet, "/rest/nope", 200, jsonHeader, errorBody, false},
		{"wrong method, valid error", http.MethodGet, sendPath, 405, jsonHeader, errorBody, true},
		{"messages with evicted", http.MethodGet, messagesPath, 200, jsonHeader, `{"messages":[],"evicted":3}`, true},
		{"messages without evicted", http.MethodGet, messagesPath, 200, jsonHeader, `{"messages":[]}`, false},
		{"messages, negative evicted", http.MethodGet, messagesPath, 200, jsonHeader, `{"messages":[],"evicted":-1}`, false},
		{"HEAD, no body", http.MethodHead, healthPath, 405, http.Header{}, "", true},
		{"HEAD with a body", http.MethodHead, healthPath, 405, jsonHeader, errorBody, false},
		{"HEAD, success", http.MethodHead, healthPath, 200, http.Header{}, "", false},
		{"sessions", http.MethodGet, sessionsPath, 200, jsonHeader, `[{"id":"a","session_state":"CONNECTED"}]`, true},
		{"sessions, more records", http.MethodGet, sessionsPath, 200, http.Header{"Content-Type": {"application/json"}, "HAS_MORE_RECORDS": {"TRUE"}}, `[]`, true},
		{"sessions, header in Horizon's case, bad value", http.MethodGet, sessionsPath, 200, http.Header{"Content-Type": {"application/json"}, "HAS_MORE_RECORDS": {"yes"}}, `[]`, false},
		{"session in lower-case state", http.MethodGet, sessionsPath + "/a", 200, jsonHeader, `{"id":"a","session_state":"connected"}`, false},
		{"tokens without refresh token", http.MethodPost, "/rest/login", 200, jsonHeader, `{"access_token":"a"}`, false},
		{"login answer that may be cached", http.MethodPost, "/rest/login", 200, http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=60"}}, `{"access_token":"a","refresh_token":"r"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequestWithContext(t.Context(), tt.method, "http://example.test"+tt.path, nil)
			err := c.Check(req, tt.status, tt.header, []byte(tt.body))
			if (err == nil) != tt.wantOK {
				t.Errorf("Check = %v, want ok %v", err, tt.wantOK)
			}
		})
	}
}

// The checking transport passes answers through and reports breaches.
func TestTransport(t *testing.T) {
	t.Parallel()
	answers := map[string]string{
		healthPath:             `{"status":"ok","sessions":1,"fast_path":{"active":true}}`,
		"/rest/refserver/v1/x": `{"status":"ok"}`,
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != healthPath {
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = w.Write([]byte(answers[r.URL.Path]))
	}))
	t.Cleanup(ts.Close)
	tests := []struct {
		path      string
		wantBreak bool
	}{
		{healthPath, false},
		{"/rest/refserver/v1/x", true}, // a 404 must carry an ErrorResponse
	}
	for _, tt := range tests {
		rec := &recordingTB{TB: t}
		client := &http.Client{Transport: spectest.Load(t).Transport(rec, nil)}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != answers[tt.path] {
			t.Errorf("%s: body %q (%v), want it passed through", tt.path, body, err)
		}
		if rec.failed != tt.wantBreak {
			t.Errorf("%s: reported a breach = %v, want %v", tt.path, rec.failed, tt.wantBreak)
		}
	}
}

// recordingTB notes failures instead of failing the test.
type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Errorf(string, ...any) { r.failed = true }
