package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/fakeclock"
	"github.com/hzkit/sendmessage/server"
)

const (
	testToken    = "test-token-5f1d2c"
	sendPath     = server.BasePath + "/inventory/v1/sessions/action/send-message"
	messagesPath = server.BasePath + "/refserver/v1/messages"
	healthPath   = server.BasePath + "/refserver/v1/health"
	faultsPath   = server.BasePath + "/refserver/v1/faults"
	sessionsPath = server.BasePath + "/inventory/v1/sessions"
	loginPath    = server.BasePath + "/login"
	refreshPath  = server.BasePath + "/refresh"
	logoutPath   = server.BasePath + "/logout"
)

// The account of the test servers.
const (
	testUser     = "operator"
	testDomain   = "TESTLAB"
	testPassword = "Pa55-word-a41c"
)

func newFakeClock() *fakeclock.Clock { return fakeclock.New(fixedNow) }

// Sessions of the test inventory.
const (
	idConnected    = "11111111-0000-4000-8000-000000000001"
	idConnected2   = "11111111-0000-4000-8000-000000000002"
	idNoUser       = "11111111-0000-4000-8000-000000000003"
	idDisconnected = "11111111-0000-4000-8000-000000000004"
	idPending      = "11111111-0000-4000-8000-000000000005"
	idUnknown      = "99999999-0000-4000-8000-000000000000"
	userConnected  = "S-1-5-21-1-2-3-1001"
	userConnected2 = "S-1-5-21-1-2-3-1002"
)

// fixedNow is the test clock: the spec's example timestamp.
var fixedNow = time.Date(2019, time.July, 1, 0, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func testSessions() []model.SessionInfo {
	return []model.SessionInfo{
		{ID: idConnected, UserID: ptr(userConnected), SessionState: model.SessionInfoSessionStateCONNECTED},
		{ID: idConnected2, UserID: ptr(userConnected2), SessionState: model.SessionInfoSessionStateCONNECTED},
		{ID: idNoUser, SessionState: model.SessionInfoSessionStateCONNECTED},
		{ID: idDisconnected, UserID: ptr("S-1-5-21-1-2-3-1004"), SessionState: model.SessionInfoSessionStateDISCONNECTED},
		{ID: idPending, UserID: ptr("S-1-5-21-1-2-3-1005"), SessionState: model.SessionInfoSessionStatePENDING},
	}
}

// testServer is a server on real HTTP, with its store in view when the test
// made it.
type testServer struct {
	*httptest.Server
	store *server.MemoryStore
}

// newTestServer starts a server over the test inventory. cfg's Token, Users,
// Store and Now are filled in when empty.
func newTestServer(t *testing.T, cfg server.Config) *testServer {
	t.Helper()
	var store *server.MemoryStore
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.Users == nil {
		cfg.Users = []model.ReferenceUser{{Username: testUser, Domain: testDomain, Password: testPassword}}
	}
	if cfg.Store == nil {
		store = server.NewMemoryStore(testSessions())
		cfg.Store = store
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	ts := startServer(t, cfg)
	ts.store = store
	return ts
}

// startServer starts a server built from cfg as it is.
func startServer(t *testing.T, cfg server.Config) *testServer {
	t.Helper()
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testServer{Server: ts}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and returns the answer after holding it against the spec and
// the headers every answer carries.
func (ts *testServer) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	checkResponse(t, req, resp.StatusCode, resp.Header, body)
	checkSecurityHeaders(t, req, resp.Header)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// checkSecurityHeaders fails t unless header has what a scanner expects of
// every answer of a JSON API.
func checkSecurityHeaders(t *testing.T, req *http.Request, header http.Header) {
	t.Helper()
	for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if got := header.Get(name); got != want {
			t.Errorf("%s %s: %s = %q, want %q", req.Method, req.URL.Path, name, got, want)
		}
	}
}

// request builds a request to path on ts with the given Authorization header
// ("" for none) and JSON body ("" for none).
func (ts *testServer) request(t *testing.T, method, path, authorization, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return req
}

func (ts *testServer) send(t *testing.T, body string) response {
	t.Helper()
	return ts.do(t, ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, body))
}

func (ts *testServer) messages(t *testing.T, query string) []model.DeliveredMessage {
	t.Helper()
	resp := ts.do(t, ts.request(t, http.MethodGet, messagesPath+query, "Bearer "+testToken, ""))
	if resp.status != http.StatusOK {
		t.Fatalf("GET messages%s: status %d, body %s", query, resp.status, resp.body)
	}
	return decodeStrict[model.DeliveredMessages](t, resp.body).Messages
}

// sendBody is the JSON of a send-message request.
func sendBody(t *testing.T, message, messageType string, ids ...string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"message": message, "message_type": messageType, "session_ids": ids})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decodeStrict decodes one JSON value of type T, refusing unknown fields.
func decodeStrict[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\nbody: %s", v, err, body)
	}
	if dec.More() {
		t.Fatalf("decode %T: trailing data in %s", v, body)
	}
	return v
}

// wantError fails t unless resp is an ErrorResponse with status and a reason
// containing fragment, given in all three of its forms.
func wantError(t *testing.T, resp response, status int, fragment string) model.ErrorResponse {
	t.Helper()
	if resp.status != status {
		t.Fatalf("status = %d, want %d; body %s", resp.status, status, resp.body)
	}
	e := decodeStrict[model.ErrorResponse](t, resp.body)
	if !strings.Contains(e.ErrorMessage, fragment) {
		t.Errorf("error_message = %q, want it to contain %q", e.ErrorMessage, fragment)
	}
	if len(e.ErrorMessages) != 1 || e.ErrorMessages[0] != e.ErrorMessage {
		t.Errorf("error_messages = %q, want [error_message]", e.ErrorMessages)
	}
	if len(e.Errors) != 1 || e.Errors[0].ErrorMessage != e.ErrorMessage || e.Errors[0].ErrorKey == "" {
		t.Fatalf("errors = %+v, want one keyed copy of error_message", e.Errors)
	}
	return e
}

// syncBuffer is a log destination that the server goroutines write while the
// test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logLines parses a JSON log.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(log) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, line)
		}
		lines = append(lines, m)
	}
	return lines
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("id-%d", i)
	}
	return out
}

// specTarget is the request path of a path of the spec, such as
// /inventory/v1/sessions/{id}: under BasePath, each template filled with the
// example that the spec gives for that path parameter.
func specTarget(tb testing.TB, path string, item *openapi3.PathItem) string {
	tb.Helper()
	params := slices.Clone(item.Parameters)
	for _, op := range item.Operations() {
		params = append(params, op.Parameters...)
	}
	for _, p := range params {
		if p.Value == nil || p.Value.In != openapi3.ParameterInPath {
			continue
		}
		example, ok := p.Value.Example.(string)
		if !ok {
			tb.Fatalf("%s: path parameter %q has no string example", path, p.Value.Name)
		}
		path = strings.ReplaceAll(path, "{"+p.Value.Name+"}", url.PathEscape(example))
	}
	if strings.ContainsAny(path, "{}") {
		tb.Fatalf("%s: a path parameter is not declared", path)
	}
	return server.BasePath + path
}
