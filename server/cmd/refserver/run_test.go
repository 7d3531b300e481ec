package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

const (
	seedID      = "7cdd624f-37d1-46c1-ab96-695a5d13956f"
	seedRequest = `{"message":"Sample Info Message","message_type":"INFO","session_ids":["` + seedID + `"]}`
	sendSuffix  = "/inventory/v1/sessions/action/send-message"
	healthPath  = "/refserver/v1/health"
	// messagesSuffix is the inspection endpoint of delivered messages.
	messagesSuffix = "/refserver/v1/messages"
	listenLine     = "listening on "
	docsLine       = "The contract it enforces, for reading: "
	tokenLine      = "Bearer token (generated; shown only here): "
	passwordLine   = `Login EXAMPLE\administrator, password (generated; shown only here): `
	printLine      = "TLS certificate SHA-256 fingerprint: "
	// failAfter bounds every wait; reaching it is a failure, not a schedule.
	failAfter = 20 * time.Second
)

// watchedBuffer is an output that run writes while the test waits for
// particular text to arrive.
type watchedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed on every write
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{changed: make(chan struct{})} }

func (b *watchedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return n, err
}

func (b *watchedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor returns the buffer once ready says it holds what the test needs. It
// fails t if run ends first or nothing comes.
func (b *watchedBuffer) waitFor(t *testing.T, what string, ready func(string) bool, r *running) string {
	t.Helper()
	timeout := time.After(failAfter)
	for {
		b.mu.Lock()
		s, changed := b.buf.String(), b.changed
		b.mu.Unlock()
		if ready(s) {
			return s
		}
		select {
		case <-changed:
		case <-r.done:
			if s := b.String(); ready(s) {
				return s
			}
			t.Fatalf("run returned %v before %s", r.err, what)
		case <-timeout:
			t.Fatalf("no %s after %s; output so far:\n%s", what, failAfter, b.String())
		}
	}
}

// running is one run of the program.
type running struct {
	cancel         context.CancelFunc
	stdout, stderr *watchedBuffer
	done           chan struct{}
	err            error // set before done is closed

	base string // http://host:port/rest
	addr string // host:port
}

// startRun starts run with args and env and waits until it listens.
func startRun(t *testing.T, args []string, env map[string]string) *running {
	t.Helper()
	r := begin(t, args, env)
	out := r.stdout.waitFor(t, "listening line", func(s string) bool { return strings.Contains(s, "\n") }, r)
	first, _, _ := strings.Cut(out, "\n")
	_, rawURL, ok := strings.Cut(first, listenLine)
	if !ok {
		t.Fatalf("first stdout line %q does not say where run listens", first)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "/rest" {
		t.Fatalf("listening URL %q: want http(s)://host:port/rest (%v)", rawURL, err)
	}
	r.base, r.addr = rawURL, u.Host
	return r
}

// begin starts run without waiting for anything; the test's end cancels it.
func begin(t *testing.T, args []string, env map[string]string) *running {
	t.Helper()
	return beginWith(t, args, env, newServer)
}

// beginWith is begin for a run that serves the server build makes.
func beginWith(t *testing.T, args []string, env map[string]string, build func(server.Config) (refServer, error)) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = runWith(ctx, args, envFunc(env), r.stdout, r.stderr, build)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(failAfter):
			t.Errorf("run did not return within %s of cancel", failAfter)
		}
	})
	return r
}

// stop cancels run's context and returns what run returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(failAfter):
		t.Fatalf("run did not return within %s", failAfter)
		return nil
	}
}

// post sends body to the send-message operation and returns the status and body.
func post(t *testing.T, client *http.Client, base, token, body string) (int, []byte) {
	t.Helper()
	resp, got := call(t, client, http.MethodPost, base+sendSuffix, token, body)
	return resp.StatusCode, got
}

func get(t *testing.T, client *http.Client, rawURL string) (int, []byte) {
	t.Helper()
	resp, got := call(t, client, http.MethodGet, rawURL, "", "")
	return resp.StatusCode, got
}

// reply is a response with its body read.
type reply struct {
	StatusCode int
	Header     http.Header
}

// call sends a request with a bearer token ("" for none) and a JSON body (""
// for none).
func call(t *testing.T, client *http.Client, method, rawURL, token, body string) (reply, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return exchange(t, client, req)
}

// roundTrip sends req and returns the status and the body.
func roundTrip(t *testing.T, client *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	resp, body := exchange(t, client, req)
	return resp.StatusCode, body
}

// exchange sends req and reads the answer. Clients from newClient and
// httpsClient have already held it against the spec.
func exchange(t *testing.T, client *http.Client, req *http.Request) (reply, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return reply{StatusCode: resp.StatusCode, Header: resp.Header}, body
}

// checkAnswer fails t unless resp (with its body read) is an answer to req
// that the spec allows; for answers that no client read.
func checkAnswer(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	if err := spectest.Load(t).Check(req, resp.StatusCode, resp.Header, body); err != nil {
		t.Errorf("%s %s: answer %d breaks the spec: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

// newClient is a plain HTTP client that holds every answer against the spec.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	return checkingClient(t, &http.Transport{})
}

// checkingClient is a client over transport that holds every answer against
// the spec.
func checkingClient(t *testing.T, transport *http.Transport) *http.Client {
	t.Helper()
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: spectest.Load(t).Transport(t, transport)}
}

func decode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %T: %v\nbody: %s", v, err, body)
	}
}

func decodeItems(t *testing.T, body []byte) []model.BulkItemResponseInfo {
	t.Helper()
	var items []model.BulkItemResponseInfo
	if err := json.Unmarshal(body, &items); err != nil {
		t.Fatalf("decode result items: %v\nbody: %s", err, body)
	}
	return items
}

// wantDelivered fails t unless the answer delivered a one-id request to id.
func wantDelivered(t *testing.T, status int, body []byte, id string) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", status, body)
	}
	items := decodeItems(t, body)
	if len(items) != 1 || items[0].ID != id || items[0].StatusCode != http.StatusOK {
		t.Errorf("items = %s, want one delivered item for %s", body, id)
	}
}

// stdoutValue returns what follows prefix on a line of out, or fails t.
func stdoutValue(t *testing.T, out, prefix string) string {
	t.Helper()
	for line := range strings.Lines(out) {
		if value, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), prefix); ok {
			return value
		}
	}
	t.Fatalf("stdout has no line %q...:\n%s", prefix, out)
	return ""
}

// loginAs logs in over client and returns the tokens, or the status when not 200.
func loginAs(t *testing.T, client *http.Client, base, username, password, domain string) (model.AuthTokens, int) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"username": username, "password": password, "domain": domain})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/login", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	status, got := roundTrip(t, client, req)
	var tokens model.AuthTokens
	if status == http.StatusOK {
		if err := json.Unmarshal(got, &tokens); err != nil {
			t.Fatalf("login answer: %v: %s", err, got)
		}
	}
	return tokens, status
}

func TestRunGeneratedSecrets(t *testing.T) {
	t.Parallel()
	r := startRun(t, []string{"-addr", "127.0.0.1:0"}, nil)
	out := r.stdout.waitFor(t, "token and password lines", func(s string) bool { return strings.Count(s, "\n") >= 4 }, r)
	token, password := stdoutValue(t, out, tokenLine), stdoutValue(t, out, passwordLine)
	if len(token) < 32 || len(password) < 32 {
		t.Fatalf("generated token %q or password %q is short", token, password)
	}
	client := newClient(t)
	// The docs page, where the start-up lines say.
	if docs := stdoutValue(t, out, docsLine); docs != r.base+"/refserver/v1/docs" {
		t.Errorf("docs page at %q, want %s/refserver/v1/docs", docs, r.base)
	} else if status, body := get(t, client, docs); status != http.StatusOK || !strings.Contains(string(body), "<title>") {
		t.Errorf("GET %s: %d %.80s, want the page", docs, status, body)
	}

	status, body := post(t, client, r.base, token, seedRequest)
	wantDelivered(t, status, body, seedID)
	if status, _ := post(t, client, r.base, token+"x", seedRequest); status != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", status)
	}
	tokens, status := loginAs(t, client, r.base, "administrator", password, "EXAMPLE")
	if status != http.StatusOK {
		t.Fatalf("login with the printed password: %d", status)
	}
	status, body = post(t, client, r.base, tokens.AccessToken, seedRequest)
	wantDelivered(t, status, body, seedID)
	if _, status := loginAs(t, client, r.base, "administrator", password+"x", "EXAMPLE"); status != http.StatusUnauthorized {
		t.Errorf("login with a wrong password: %d, want 401", status)
	}
	if status, body := get(t, client, r.base+healthPath); status != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
		t.Errorf("health: %d %s", status, body)
	}

	if err := r.stop(t); err != nil {
		t.Errorf("run after cancel = %v, want nil", err)
	}
	if got := strings.Count(r.stdout.String(), "\n"); got != 4 {
		t.Errorf("stdout has %d lines, want 4:\n%s", got, r.stdout.String())
	}
	logs := r.stderr.String()
	for _, secret := range []string{token, password, tokens.AccessToken, tokens.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("stderr holds a secret:\n%s", logs)
		}
	}
	for _, want := range []string{"serving", "shutting down", "stopped", "status=200", "status=401", "users=1"} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs)
		}
	}
}

func TestRunGivenAdminPassword(t *testing.T) {
	t.Parallel()
	const password = "given-Passw0rd-91d2"
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"-admin-password", password}, nil},
		{"environment", nil, map[string]string{"REFSERVER_ADMIN_PASSWORD": password}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := startRun(t, append([]string{"-addr", "127.0.0.1:0", "-token", "tok-admin"}, tt.args...), tt.env)
			if _, status := loginAs(t, newClient(t), r.base, "administrator", password, "EXAMPLE"); status != http.StatusOK {
				t.Errorf("login: %d, want 200", status)
			}
			if err := r.stop(t); err != nil {
				t.Errorf("run = %v", err)
			}
			if out := r.stdout.String(); strings.Contains(out, password) || strings.Contains(out, "password") {
				t.Errorf("stdout shows a given password:\n%s", out)
			}
			if strings.Contains(r.stderr.String(), password) {
				t.Errorf("stderr holds the password:\n%s", r.stderr.String())
			}
		})
	}
}

// The lifetimes of the tokens follow the options; the access token's JWT
// says so.
func TestRunTokenLifetimes(t *testing.T) {
	t.Parallel()
	const password = "ttl-Passw0rd"
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-ttl", "-admin-password", password, "-access-token-ttl", "90s"},
		map[string]string{"REFSERVER_REFRESH_TOKEN_TTL": "2h"})
	tokens, status := loginAs(t, newClient(t), r.base, "administrator", password, "EXAMPLE")
	if status != http.StatusOK {
		t.Fatalf("login: %d", status)
	}
	for _, tt := range []struct {
		token string
		want  time.Duration
	}{{tokens.AccessToken, 90 * time.Second}, {tokens.RefreshToken, 2 * time.Hour}} {
		if got := lifetime(t, tt.token); got != tt.want {
			t.Errorf("token lifetime = %s, want %s", got, tt.want)
		}
	}
}

// lifetime is exp - iat of a JWT.
func lifetime(t *testing.T, token string) time.Duration {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Iat, Exp int64 }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return time.Duration(claims.Exp-claims.Iat) * time.Second
}

func TestRunGivenToken(t *testing.T) {
	t.Parallel()
	const token = "given-token-3b8f0e1a"
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"-token", token}, nil},
		{"environment", nil, map[string]string{"REFSERVER_TOKEN": token}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := startRun(t, append([]string{"-addr", "127.0.0.1:0"}, tt.args...), tt.env)
			client := newClient(t)
			status, body := post(t, client, r.base, token, seedRequest)
			wantDelivered(t, status, body, seedID)
			if err := r.stop(t); err != nil {
				t.Errorf("run after cancel = %v, want nil", err)
			}
			if out := r.stdout.String(); strings.Contains(out, token) || strings.Contains(out, "Bearer token") {
				t.Errorf("stdout shows a given token:\n%s", out)
			}
			if logs := r.stderr.String(); strings.Contains(logs, token) {
				t.Errorf("stderr holds the token:\n%s", logs)
			}
		})
	}
}

func TestRunJSONLogs(t *testing.T) {
	t.Parallel()
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-json-logs", "-log-format", "json"}, nil)
	if status, _ := get(t, newClient(t), r.base+healthPath); status != http.StatusOK {
		t.Errorf("health: status %d", status)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("run = %v", err)
	}
	var messages []string
	for line := range strings.Lines(r.stderr.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		msg, _ := m["msg"].(string)
		messages = append(messages, msg)
	}
	if got, want := strings.Join(messages, ","), "serving,request,shutting down,stopped"; got != want {
		t.Errorf("log messages = %s, want %s", got, want)
	}
}

func TestRunLimitsFromOptions(t *testing.T) {
	t.Parallel()
	const token = "tok-limits"
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token, "-max-message-length", "5"},
		map[string]string{"REFSERVER_MAX_SESSION_IDS": "1"})
	client := newClient(t)
	tests := []struct {
		name       string
		body       string
		wantStatus int
	}{
		{"message at limit", `{"message":"12345","message_type":"INFO","session_ids":["` + seedID + `"]}`, 200},
		{"message over limit", `{"message":"123456","message_type":"INFO","session_ids":["` + seedID + `"]}`, 400},
		{"ids over limit", `{"message":"m","message_type":"INFO","session_ids":["` + seedID + `","` + seedID + `"]}`, 400},
	}
	for _, tt := range tests {
		if status, body := post(t, client, r.base, token, tt.body); status != tt.wantStatus {
			t.Errorf("%s: status %d, want %d; body %s", tt.name, status, tt.wantStatus, body)
		}
	}
}

func TestRunMaxRecordedMessages(t *testing.T) {
	t.Parallel()
	const token = "tok-record-cap"
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token},
		map[string]string{"REFSERVER_MAX_RECORDED_MESSAGES": "1"})
	client := newClient(t)
	// Another connected demo session than the seed's.
	const financeID = "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f"
	for _, message := range []string{"first", "second", "third"} {
		body := `{"message":"` + message + `","message_type":"INFO","session_ids":["` + financeID + `"]}`
		status, got := post(t, client, r.base, token, body)
		wantDelivered(t, status, got, financeID)
	}
	record, body := deliveredRecord(t, client, r.base, token)
	if len(record.Messages) != 1 || record.Messages[0].Message != "third" || record.Messages[0].Sequence != 3 || record.Evicted != 2 {
		t.Errorf("record = %s, want only the third message (sequence 3) and 2 evicted", body)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run = %v", err)
	}
	if logs := r.stderr.String(); !strings.Contains(logs, "max_recorded_messages=1") {
		t.Errorf("the serving log does not give the cap:\n%s", logs)
	}
}

// deliveredRecord returns what the inspection endpoint says was delivered,
// and its raw answer.
func deliveredRecord(t *testing.T, client *http.Client, base, token string) (model.DeliveredMessages, []byte) {
	t.Helper()
	resp, body := call(t, client, http.MethodGet, base+messagesSuffix, token, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET messages: status %d; body %s", resp.StatusCode, body)
	}
	var record model.DeliveredMessages
	decode(t, body, &record)
	return record, body
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunDataFile(t *testing.T) {
	t.Parallel()
	const token = "tok-data"
	path := writeFile(t, "inventory.json", `{
		"users": [{"username": "ops", "domain": "LAB", "password": "file-Passw0rd"}],
		"sessions": [
			{"id": "mine-1", "user_id": "S-1-5-21-9", "session_state": "CONNECTED"},
			{"id": "mine-2", "session_state": "DISCONNECTED"}
		]
	}`)
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token, "-data", path}, nil)
	client := newClient(t)

	status, body := get(t, client, r.base+healthPath)
	if status != http.StatusOK || !strings.Contains(string(body), `"sessions":2`) {
		t.Errorf("health: %d %s, want 2 sessions", status, body)
	}
	status, body = post(t, client, r.base, token, `{"message":"m","message_type":"INFO","session_ids":["mine-1","mine-2","`+seedID+`"]}`)
	if status != http.StatusOK {
		t.Fatalf("status %d; body %s", status, body)
	}
	var got []int32
	for _, item := range decodeItems(t, body) {
		got = append(got, item.StatusCode)
	}
	// The file replaces the demo data: the seed session is gone.
	if want := []int32{200, 409, 404}; !equalInts(got, want) {
		t.Errorf("status codes = %v, want %v", got, want)
	}
	// So are the demo administrator and its password line.
	if _, status := loginAs(t, client, r.base, "ops", "file-Passw0rd", "LAB"); status != http.StatusOK {
		t.Errorf("login as the file's user: %d, want 200", status)
	}
	if strings.Contains(r.stdout.String(), "password") {
		t.Errorf("stdout shows a password with a data file:\n%s", r.stdout.String())
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run = %v", err)
	}
	if !strings.Contains(r.stderr.String(), path) {
		t.Errorf("the serving log does not name the data file:\n%s", r.stderr.String())
	}
}

// A data file and a record cap apply together: the file's user logs in, the
// listing shows the file's sessions, and the record keeps only the newest
// deliveries.
func TestRunDataFileWithRecordCap(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "inventory.json", `{
		"users": [{"username": "ops", "domain": "LAB", "password": "file-Passw0rd"}],
		"sessions": [
			{"id": "mine-1", "session_state": "CONNECTED"},
			{"id": "mine-2", "session_state": "CONNECTED"}
		]
	}`)
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-data-cap", "-data", path, "-max-recorded-messages", "2"}, nil)
	client := newClient(t)
	tokens, status := loginAs(t, client, r.base, "ops", "file-Passw0rd", "LAB")
	if status != http.StatusOK {
		t.Fatalf("login as the file's user: %d", status)
	}
	resp, body := call(t, client, http.MethodGet, r.base+"/inventory/v1/sessions", tokens.AccessToken, "")
	var sessions []model.SessionInfo
	decode(t, body, &sessions)
	if resp.StatusCode != http.StatusOK || len(sessions) != 2 || sessions[0].ID != "mine-1" || sessions[1].ID != "mine-2" {
		t.Errorf("sessions: %d %s, want mine-1 and mine-2", resp.StatusCode, body)
	}
	status, body = post(t, client, r.base, tokens.AccessToken, `{"message":"m","message_type":"INFO","session_ids":["mine-1","mine-2","mine-1"]}`)
	if status != http.StatusOK {
		t.Fatalf("send: %d %s", status, body)
	}
	status, body = post(t, client, r.base, tokens.AccessToken, `{"message":"again","message_type":"INFO","session_ids":["mine-2"]}`)
	wantDelivered(t, status, body, "mine-2")
	// The record is the operator's: the file's user, who is not, gets 403.
	if resp, body := call(t, client, http.MethodGet, r.base+"/refserver/v1/messages", tokens.AccessToken, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the record read by a user who is not the operator: %d %s, want 403", resp.StatusCode, body)
	}
	record, body := deliveredRecord(t, client, r.base, "tok-data-cap")
	if len(record.Messages) != 2 || record.Messages[0].SessionID != "mine-2" || record.Messages[1].Message != "again" || record.Evicted != 1 {
		t.Errorf("record = %s, want the last 2 deliveries and 1 evicted", body)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run = %v", err)
	}
}

// The fault rules of a data file are in force from the start, and the API
// lists them with their hits.
func TestRunDataFileFaults(t *testing.T) {
	t.Parallel()
	const token = "tok-faults"
	path := writeFile(t, "faults.json", `{
		"sessions": [{"id": "mine-1", "session_state": "CONNECTED"}, {"id": "mine-2", "session_state": "CONNECTED"}],
		"faults": [
			{"operation": "sendMessageToSessions", "session_ids": ["mine-2"], "action": "fail_sessions", "error_key": "agent.timeout", "error_message": "no answer", "item_status": 504},
			{"operation": "listSessions", "action": "respond", "status": 503, "retry_after_seconds": 2, "times": 1}
		]
	}`)
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token, "-data", path}, nil)
	client := newClient(t)
	status, body := post(t, client, r.base, token, `{"message":"m","message_type":"INFO","session_ids":["mine-1","mine-2"]}`)
	if status != http.StatusOK {
		t.Fatalf("send: %d %s", status, body)
	}
	var got []int32
	for _, item := range decodeItems(t, body) {
		got = append(got, item.StatusCode)
	}
	if want := []int32{200, 504}; !equalInts(got, want) {
		t.Errorf("status codes = %v, want %v", got, want)
	}
	resp, body := call(t, client, http.MethodGet, r.base+"/inventory/v1/sessions", token, "")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("listing: %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = call(t, client, http.MethodGet, r.base+"/refserver/v1/faults", token, "")
	var faults model.Faults
	decode(t, body, &faults)
	if resp.StatusCode != http.StatusOK || len(faults.Faults) != 2 || faults.Faults[0].ID != "1" || faults.Faults[0].Hits != 1 || faults.Faults[1].Hits != 1 {
		t.Errorf("faults: %d %s", resp.StatusCode, body)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run = %v", err)
	}
	if !strings.Contains(r.stderr.String(), "fault_rules=2") {
		t.Errorf("the serving log does not count the fault rules:\n%s", r.stderr.String())
	}
}

// A data file without sessions gives an empty inventory, not the demo one.
func TestRunEmptyDataFile(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "empty.json", `{"sessions": []}`)
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-empty", "-data", path}, nil)
	status, body := get(t, newClient(t), r.base+healthPath)
	if status != http.StatusOK || !strings.Contains(string(body), `"sessions":0`) {
		t.Errorf("health: %d %s, want 0 sessions", status, body)
	}
}

func equalInts(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunRefusesToStart(t *testing.T) {
	t.Parallel()
	malformed := writeFile(t, "broken.json", `{"sessions": [{"id": "a", "session_state": "connected"}]}`)
	duplicate := writeFile(t, "dup.json", `{"sessions": [{"id": "a", "session_state": "CONNECTED"}, {"id": "a", "session_state": "PENDING"}]}`)
	unknownField := writeFile(t, "unknown.json", `{"sessions": [{"id": "a", "session_state": "CONNECTED", "client_data": {"type": "MAC", "os": "macOS"}}]}`)
	missing := filepath.Join(t.TempDir(), "absent.json")
	badFault := writeFile(t, "fault.json", `{"sessions": [], "faults": [{"operation": "login", "action": "close_before_acting"}, {"operation": "sendMessageToSessions", "action": "respond", "status": 404}]}`)
	delayed := writeFile(t, "delayed.json", `{"sessions": [], "faults": [{"operation": "login", "action": "delay", "delay_ms": 5000}]}`)
	unknownFaultField := writeFile(t, "fault-field.json", `{"sessions": [], "faults": [{"operation": "login", "action": "respond", "status": 503, "retry_after": 1}]}`)
	var lc net.ListenConfig
	taken, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"malformed data file", []string{"-data", malformed}, []string{malformed, "/sessions/0/session_state"}},
		{"duplicate ids in data file", []string{"-data", duplicate}, []string{duplicate, "/sessions/1/id"}},
		{"unknown field in data file", []string{"-data", unknownField}, []string{unknownField, `/sessions/0/client_data/os: property "os" is unsupported`}},
		{"missing data file", []string{"-data", missing}, []string{missing}},
		{"fault rule its operation does not allow", []string{"-data", badFault}, []string{badFault, "/faults/1/status: sendMessageToSessions does not declare 404"}},
		{"unknown field in a fault rule", []string{"-data", unknownFaultField}, []string{unknownFaultField, `/faults/0/retry_after: property "retry_after" is unsupported`}},
		{"negative limit", []string{"-max-body-bytes", "-1"}, []string{"-max-body-bytes", "0 or more"}},
		{"bad option", []string{"-log-format", "xml"}, []string{"-log-format"}},
		{"address in use", []string{"-addr", taken.Addr().String()}, []string{taken.Addr().String()}},
		{"admin password with a data file", []string{"-data", malformed, "-admin-password", "x"}, []string{"-admin-password", "-data"}},
		{"missing certificate", []string{"-tls-cert", missing, "-tls-key", missing}, []string{missing}},
		{"certificate without key", []string{"-tls-cert", missing}, []string{"-tls-cert and -tls-key go together"}},
		{"data file over its limit", []string{"-data", duplicate, "-max-data-bytes", "10"}, []string{duplicate, "larger than 10 bytes", "-max-data-bytes"}},
		{"data file without end", []string{"-data", "/dev/zero", "-max-data-bytes", "1000"}, []string{"/dev/zero", "larger than 1000 bytes"}},
		{"missing token file", []string{"-token-file", missing}, []string{"-token-file", missing}},
		{"empty token file", []string{"-token-file", writeFile(t, "empty", "\n")}, []string{"-token-file", "first line is empty"}},
		{"missing password file", []string{"-admin-password-file", missing}, []string{"-admin-password-file", missing}},
		{"admin password no login can send", []string{"-admin-password", strings.Repeat("p", model.ReferenceUserPasswordMaxLength+1)},
			[]string{"password is 1025 characters", "at most 1024"}},
		{"data file user whose password no login can send", []string{"-data", writeFile(t, "long.json", `{"sessions": [], "users": [{"username": "u", "domain": "D", "password": "`+strings.Repeat("p", model.ReferenceUserPasswordMaxLength+1)+`"}]}`)},
			[]string{"/users/0/password: maximum string length is 1024"}},
		{"fault rule delayed past the write timeout", []string{"-data", delayed, "-write-timeout", "2s"},
			[]string{delayed, "/faults/0/delay_ms: 5000 ms is longer than the server allows (1000 ms)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-addr", "127.0.0.1:0"}, tt.args...)
			if !slices.Contains(tt.args, "-token-file") {
				args = append(args, "-token", "tok")
			}
			r := begin(t, args, nil)
			// run must give up by itself, without cancel.
			err := r.wait(t)
			if err == nil {
				t.Fatal("run started")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if out := r.stdout.String(); out != "" {
				t.Errorf("stdout = %q, want nothing before listening", out)
			}
		})
	}
}

// heldRequest is a send-message request that the test holds in the handler.
// The client sends "Expect: 100-continue" and writes the body only after the
// server's 100 Continue, which the server sends when the handler first reads
// the body: so once the first half is taken from the pipe, the request is in
// the handler, and it stays there until the test writes the rest.
type heldRequest struct {
	body    string
	pw      *io.PipeWriter
	answers chan heldAnswer
}

type heldAnswer struct {
	resp *http.Response
	body []byte
	err  error
}

// holdRequest starts sending body to r's send-message operation and returns
// once the request is in the handler.
func holdRequest(t *testing.T, r *running, token, body string) *heldRequest {
	t.Helper()
	client := checkingClient(t, &http.Transport{ExpectContinueTimeout: time.Hour})
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, r.base+sendSuffix, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Expect", "100-continue")

	h := &heldRequest{body: body, pw: pw, answers: make(chan heldAnswer, 1)}
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			h.answers <- heldAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		h.answers <- heldAnswer{resp: resp, body: got, err: err}
	}()
	writeOrFail(t, pw, body[:len(body)/2])
	return h
}

// finish writes the rest of the body and returns the answer, which the
// client has held against the spec.
func (h *heldRequest) finish(t *testing.T) heldAnswer {
	t.Helper()
	writeOrFail(t, h.pw, h.body[len(h.body)/2:])
	if err := h.pw.Close(); err != nil {
		t.Fatal(err)
	}
	var a heldAnswer
	select {
	case a = <-h.answers:
	case <-time.After(failAfter):
		t.Fatal("no answer to the held request")
	}
	if a.err != nil {
		t.Fatalf("held request: %v", a.err)
	}
	return a
}

// TestRunGracefulShutdown holds requests in the handler, cancels run's
// context, and checks that new connections are refused, that each held
// request still gets its whole, own answer, and that run then returns nil
// well within -shutdown-timeout.
func TestRunGracefulShutdown(t *testing.T) {
	t.Parallel()
	const (
		token           = "tok-graceful"
		inFlight        = 8
		shutdownTimeout = 10 * time.Second
	)
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token, "-shutdown-timeout", shutdownTimeout.String()}, nil)

	// Each request names the seed session and an unknown id of its own, so
	// each answer can only be its own.
	unknownID := func(i int) string { return fmt.Sprintf("unknown-in-flight-%d", i) }
	held := make([]*heldRequest, inFlight)
	for i := range held {
		body := `{"message":"in flight","message_type":"INFO","session_ids":["` + seedID + `","` + unknownID(i) + `"]}`
		held[i] = holdRequest(t, r, token, body)
	}

	cancelled := time.Now()
	r.cancel()
	r.stderr.waitFor(t, "shutdown log", func(s string) bool { return strings.Contains(s, "shutting down") }, r)
	waitUntilRefused(t, r.addr)
	select {
	case <-r.done:
		t.Fatalf("run returned %v with %d requests in flight", r.err, inFlight)
	default:
	}

	for i, h := range held {
		a := h.finish(t)
		if a.resp.StatusCode != http.StatusOK {
			t.Fatalf("held request %d: status %d; body %s", i, a.resp.StatusCode, a.body)
		}
		var got []string
		for _, item := range decodeItems(t, a.body) {
			got = append(got, fmt.Sprintf("%s:%d", item.ID, item.StatusCode))
		}
		if want := []string{seedID + ":200", unknownID(i) + ":404"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("held request %d: items %v, want %v", i, got, want)
		}
		// The answer was written while shutting down, so it closes the connection.
		if !a.resp.Close {
			t.Errorf("held request %d: answer during shutdown keeps the connection open", i)
		}
	}
	answered := time.Now()
	if err := r.wait(t); err != nil {
		t.Errorf("run = %v, want nil after a graceful shutdown", err)
	}
	drain := time.Since(cancelled)
	if drain >= shutdownTimeout {
		t.Errorf("run returned %s after cancel, not within -shutdown-timeout %s", drain, shutdownTimeout)
	}
	t.Logf("shutdown with %d requests in flight: run returned %s after cancel, %s after the last answer",
		inFlight, drain.Round(time.Millisecond), time.Since(answered).Round(time.Microsecond))
}

// TestRunShutdownDeadline holds a request that never finishes: run must give
// up when -shutdown-timeout is over, cut the request off and say so. The
// request goes over a raw connection, so that nothing on the client's side
// can hide the cut.
func TestRunShutdownDeadline(t *testing.T) {
	t.Parallel()
	const (
		token           = "tok-deadline"
		shutdownTimeout = 300 * time.Millisecond
	)
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token, "-shutdown-timeout", shutdownTimeout.String()}, nil)
	conn := dialRaw(t, r.addr)
	if err := conn.SetReadDeadline(time.Now().Add(failAfter)); err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("POST /rest%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", sendSuffix, r.addr, token, len(seedRequest))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	// The server says 100 Continue when the handler first reads the body.
	answer := bufio.NewReader(conn)
	if line, err := answer.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("no 100 Continue: %q, %v", line, err)
	}
	if _, err := io.WriteString(conn, seedRequest[:len(seedRequest)/2]); err != nil {
		t.Fatal(err)
	}

	cancelled := time.Now()
	err := r.stop(t)
	took := time.Since(cancelled)
	if err == nil || !strings.Contains(err.Error(), "graceful shutdown") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run = %v, want the graceful shutdown to fail on its deadline", err)
	}
	if took < shutdownTimeout {
		t.Errorf("run returned %s after cancel, before -shutdown-timeout %s", took, shutdownTimeout)
	}
	t.Logf("run gave up %s after cancel (-shutdown-timeout %s)", took.Round(time.Millisecond), shutdownTimeout)
	// Past the 100 Continue, the connection must end without an answer.
	rest, err := io.ReadAll(answer)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the stuck request's connection is still open: %v", err)
	}
	if blank := strings.TrimLeft(string(rest), "\r\n"); blank != "" {
		t.Errorf("the stuck request got an answer: %q", rest)
	}
	if logs := r.stderr.String(); !strings.Contains(logs, "shutdown deadline passed") {
		t.Errorf("no log says requests were cut off:\n%s", logs)
	}
}

// writeOrFail writes s to w, failing t if nobody takes it.
func writeOrFail(t *testing.T, w *io.PipeWriter, s string) {
	t.Helper()
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(w, s)
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			t.Fatalf("write request body: %v", err)
		}
	case <-time.After(failAfter):
		w.CloseWithError(io.ErrClosedPipe)
		t.Fatal("the request body was never read")
	}
}

// waitUntilRefused returns once addr no longer accepts connections: the
// server has closed its listener, so Shutdown is under way.
func waitUntilRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	var dialer net.Dialer
	for time.Now().Before(deadline) {
		conn, err := dialer.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
	}
	t.Fatalf("%s still accepts connections after %s", addr, failAfter)
}

// The token and the administrator's password can come from files (their
// first line), and are then not printed; a flag and its file exclude each
// other.
func TestRunSecretsFromFiles(t *testing.T) {
	t.Parallel()
	tokenFile := writeFile(t, "token", "tok-from-file\r\nignored\n")
	passwordFile := writeFile(t, "password", "Passw0rd-from-file\n")
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token-file", tokenFile, "-admin-password-file", passwordFile}, nil)
	client := newClient(t)
	if resp, body := call(t, client, http.MethodGet, r.base+"/inventory/v1/sessions", "tok-from-file", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the file's token: %d %s", resp.StatusCode, body)
	}
	if _, status := loginAs(t, client, r.base, "administrator", "Passw0rd-from-file", "EXAMPLE"); status != http.StatusOK {
		t.Errorf("the file's password: %d", status)
	}
	if out := r.stdout.String(); strings.Contains(out, "tok-from-file") || strings.Contains(out, "Passw0rd-from-file") || strings.Contains(out, "generated") {
		t.Errorf("stdout shows a secret it did not make:\n%s", out)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run = %v", err)
	}
	for _, args := range [][]string{{"-token", "x", "-token-file", tokenFile}, {"-admin-password", "x", "-admin-password-file", passwordFile}} {
		if _, err := parseOptions(args, envFunc(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "exclude each other") {
			t.Errorf("%v: err = %v, want that they exclude each other", args, err)
		}
	}
}
