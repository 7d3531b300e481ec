package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// Every operation the spec protects refuses a request without the right token
// with 401 and WWW-Authenticate: Bearer; every other serves it. The
// operations and their bodies come from the spec.
func TestProtectedOperationsNeedTheToken(t *testing.T) {
	t.Parallel()
	doc := spectest.Load(t).Doc()
	protected := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			var example any
			if op.RequestBody != nil {
				if media := op.RequestBody.Value.Content.Get("application/json"); media != nil {
					example = media.Example
				}
			}
			if len(security) > 0 {
				protected++
			}
			for _, authorization := range []string{"", "Bearer wrong-" + testToken, "Basic " + testToken} {
				t.Run(fmt.Sprintf("%s %s with %q", method, path, authorization), func(t *testing.T) {
					t.Parallel()
					srv := newTestServer(t, server.Config{})
					body := liveBody(t, srv, example)
					resp := srv.do(t, srv.request(t, method, specTarget(t, path, item), authorization, body))
					if len(security) == 0 {
						if resp.status/100 != 2 {
							t.Errorf("unprotected operation: status %d; body %s", resp.status, resp.body)
						}
						return
					}
					wantError(t, resp, http.StatusUnauthorized, "")
					if got := resp.header.Get("WWW-Authenticate"); got != "Bearer" {
						t.Errorf("WWW-Authenticate = %q, want Bearer", got)
					}
					if got := srv.store.Messages(""); len(got) != 0 {
						t.Errorf("a refused request recorded %+v", got)
					}
				})
			}
		}
	}
	if protected == 0 {
		t.Fatal("the spec protects no operation")
	}
}

// liveBody is the JSON of a request body example, with what the spec's
// examples cannot know made live on srv: the test account's credentials in
// place of the example's, a refresh token of a new login in place of the
// example's. "" when there is no example.
func liveBody(t *testing.T, srv *testServer, example any) string {
	t.Helper()
	if example == nil {
		return ""
	}
	if fields, ok := example.(map[string]any); ok {
		live := make(map[string]any, len(fields))
		for name, value := range fields {
			live[name] = value
		}
		if _, ok := live["password"]; ok {
			live["username"], live["password"], live["domain"] = testUser, testPassword, testDomain
		}
		if _, ok := live["refresh_token"]; ok {
			live["refresh_token"] = srv.login(t).RefreshToken
		}
		example = live
	}
	b, err := json.Marshal(example)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// panickingStore panics with value when a session is looked up.
type panickingStore struct {
	*server.MemoryStore
	value func() any
}

func (s panickingStore) Session(string) (model.SessionInfo, bool) { panic(s.value()) }

// Whatever a panic carries, the 500 says only "internal server error"; the
// log has the detail.
func TestInternalErrorsStayInternal(t *testing.T) {
	t.Parallel()
	const secret = "db-password=hunter2"
	tests := []struct {
		name  string
		value func() any
	}{
		{"string", func() any { return "lost " + secret }},
		{"error", func() any { return fmt.Errorf("query failed: %w", errors.New(secret)) }},
		{"echo HTTP error", func() any { return echo.NewHTTPError(http.StatusInternalServerError, secret) }},
		// Raises a runtime error (an index out of range) in place of a value.
		{"runtime error", func() any { return strings.Fields(secret)[len(secret)] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log syncBuffer
			store := panickingStore{server.NewMemoryStore(testSessions()), tt.value}
			srv := newTestServer(t, server.Config{Store: store, Logger: jsonLogger(&log)})
			resp := srv.send(t, sendBody(t, "m", "INFO", idConnected))
			e := wantError(t, resp, http.StatusInternalServerError, "")
			if e.ErrorMessage != "internal server error" || e.Errors[0].ErrorKey != "internal.error" {
				t.Errorf("500 body = %s, want the generic one", resp.body)
			}
			if strings.Contains(string(resp.body), "hunter2") || strings.Contains(string(resp.body), "goroutine") {
				t.Errorf("500 body leaks internals: %s", resp.body)
			}
			if !strings.Contains(log.String(), "panic in handler") {
				t.Errorf("the panic is not logged:\n%s", log.String())
			}
			// The server goes on serving.
			if resp := srv.do(t, srv.request(t, http.MethodGet, healthPath, "", "")); resp.status != http.StatusOK {
				t.Errorf("health after the panic: status %d", resp.status)
			}
		})
	}
}
