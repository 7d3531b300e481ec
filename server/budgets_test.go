package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// from returns a client whose connections come from the loopback address
// addr (such as 127.0.0.2), so that a test can play several clients.
func (ts *testServer) from(addr string) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}}
	return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
}

// doFrom sends req from addr and returns the answer, held against the spec.
func (ts *testServer) doFrom(t *testing.T, addr string, req *http.Request) response {
	t.Helper()
	resp, err := ts.from(addr).Do(req)
	if err != nil {
		t.Fatalf("%s %s from %s: %v", req.Method, req.URL.Path, addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, req, resp.StatusCode, resp.Header, body)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// held is a request whose body is sent in part and then held back, until
// finish sends the rest.
type held struct {
	pw       *io.PipeWriter
	rest     string
	answered chan response
}

// hold starts req from addr with body, sending only its first sent bytes.
// The body's length is declared unless chunked.
func (ts *testServer) hold(t *testing.T, addr string, req *http.Request, body string, sent int, chunked bool) *held {
	t.Helper()
	pr, pw := io.Pipe()
	req.Body = pr
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	if chunked {
		req.ContentLength = -1
	}
	h := &held{pw: pw, rest: body[sent:], answered: make(chan response, 1)}
	client := ts.from(addr)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			h.answered <- response{}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		h.answered <- response{status: resp.StatusCode, header: resp.Header, body: b}
	}()
	if _, err := io.WriteString(pw, body[:sent]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
	return h
}

// finish sends the rest of the body and returns the answer.
func (h *held) finish(t *testing.T) response {
	t.Helper()
	if _, err := io.WriteString(h.pw, h.rest); err != nil {
		t.Fatal(err)
	}
	h.pw.Close()
	return <-h.answered
}

// gauge reads a gauge of srv's metrics.
func gauge(t *testing.T, srv *server.Server, name string) float64 {
	t.Helper()
	families, err := srv.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// newBudgetServer starts a server with limits, and returns it with its
// http.Handler for the gauges.
func newBudgetServer(t *testing.T, cfg server.Config) (*testServer, *server.Server) {
	t.Helper()
	cfg.Token = testToken
	if cfg.Users == nil {
		cfg.Users = []model.ReferenceUser{{Username: testUser, Domain: testDomain, Password: testPassword}}
	}
	cfg.Store = server.NewMemoryStore(testSessions())
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testServer{Server: ts}, srv
}

// Only the operator drives the test harness: a Horizon user's valid login
// gets 403 there, before any of the body is read, and still works on
// Horizon's operations; a user marked operator and the static token do not.
func TestOnlyTheOperatorDrivesTheHarness(t *testing.T) {
	t.Parallel()
	users := []model.ReferenceUser{
		{Username: testUser, Domain: testDomain, Password: testPassword},
		{Username: "boss", Domain: testDomain, Password: "boss-Passw0rd", Operator: ptr(true)},
	}
	srv := newTestServer(t, server.Config{Users: users})
	loginAs := func(user, password string) string {
		resp := srv.do(t, srv.request(t, http.MethodPost, loginPath, "", fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, user, testDomain, password)))
		if resp.status != http.StatusOK {
			t.Fatalf("login %s: %d %s", user, resp.status, resp.body)
		}
		return decodeStrict[model.AuthTokens](t, resp.body).AccessToken
	}
	user, operator := loginAs(testUser, testPassword), loginAs("boss", "boss-Passw0rd")
	rule := `{"operation":"getSession","action":"respond","status":503}`
	harness := []struct{ method, path, body string }{
		{http.MethodGet, messagesPath, ""},
		{http.MethodDelete, messagesPath, ""},
		{http.MethodGet, faultsPath, ""},
		{http.MethodPost, faultsPath, rule},
		{http.MethodGet, faultsPath + "/1", ""},
		{http.MethodDelete, faultsPath + "/1", ""},
		{http.MethodDelete, faultsPath, ""},
	}
	for _, call := range harness {
		resp := srv.do(t, srv.request(t, call.method, call.path, "Bearer "+user, call.body))
		wantError(t, resp, http.StatusForbidden, "only the operator")
	}
	// Before the body: one that never ends is not waited for.
	req := srv.request(t, http.MethodPost, faultsPath, "Bearer "+user, "")
	req.Header.Set("Content-Type", "application/json")
	h := srv.hold(t, "127.0.0.1", req, rule, 1, false)
	select {
	case resp := <-h.answered:
		if resp.status != http.StatusForbidden {
			t.Errorf("a held body: status %d %s, want 403 before it ends", resp.status, resp.body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a held body is not answered before it ends")
	}
	// Horizon's operations are the user's.
	if resp := srv.do(t, srv.request(t, http.MethodGet, sessionsPath, "Bearer "+user, "")); resp.status != http.StatusOK {
		t.Errorf("a Horizon user lists sessions: %d %s", resp.status, resp.body)
	}
	for _, token := range []string{operator, testToken} {
		for _, call := range harness {
			resp := srv.do(t, srv.request(t, call.method, call.path, "Bearer "+token, call.body))
			if resp.status >= 300 && resp.status != http.StatusNotFound {
				t.Errorf("the operator: %s %s: %d %s", call.method, call.path, resp.status, resp.body)
			}
		}
	}
}

// A request finds a place among those in flight, or gets 503 with
// Retry-After at once: one address may hold a quarter of the places, and
// requests without a valid token a quarter, one address of them a
// thirty-second; others are served meanwhile.
func TestRequestsInFlightShares(t *testing.T) {
	t.Parallel()
	ts, srv := newBudgetServer(t, server.Config{Limits: server.Limits{MaxRequestsInFlight: 64}})
	body := sendBody(t, "held", "INFO", idConnected)
	send := func() *http.Request { return ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, body) }
	// 127.0.0.2 holds its 16 places.
	var holds []*held
	for range 16 {
		holds = append(holds, ts.hold(t, "127.0.0.2", send(), body, 1, false))
	}
	waitFor(t, "16 requests in flight", func() bool { return gauge(t, srv, "refserver_requests_in_flight") == 16 })
	resp := ts.doFrom(t, "127.0.0.2", send())
	wantError(t, resp, http.StatusServiceUnavailable, "as many requests as it has room for")
	if resp.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", resp.header.Get("Retry-After"))
	}
	if resp := ts.doFrom(t, "127.0.0.3", send()); resp.status != http.StatusOK {
		t.Errorf("another address: %d %s", resp.status, resp.body)
	}

	// Logins have no token: 127.0.0.4 holds its 2 places of them.
	login := fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, testUser, testDomain, testPassword)
	for range 2 {
		holds = append(holds, ts.hold(t, "127.0.0.4", ts.request(t, http.MethodPost, loginPath, "", login), login, 1, false))
	}
	waitFor(t, "18 requests in flight", func() bool { return gauge(t, srv, "refserver_requests_in_flight") == 18 })
	wantError(t, ts.doFrom(t, "127.0.0.4", ts.request(t, http.MethodPost, loginPath, "", login)), http.StatusServiceUnavailable, "retry in a second")
	if resp := ts.doFrom(t, "127.0.0.5", ts.request(t, http.MethodPost, loginPath, "", login)); resp.status != http.StatusOK {
		t.Errorf("a login from another address: %d %s", resp.status, resp.body)
	}
	// A right token from the address whose logins wait is served.
	if resp := ts.doFrom(t, "127.0.0.4", send()); resp.status != http.StatusOK {
		t.Errorf("a valid token from the address of the held logins: %d %s", resp.status, resp.body)
	}
	for _, h := range holds {
		if resp := h.finish(t); resp.status != http.StatusOK {
			t.Errorf("a held request: %d %s", resp.status, resp.body)
		}
	}
	waitFor(t, "the places to be given back", func() bool { return gauge(t, srv, "refserver_requests_in_flight") == 0 })
}

// Over HTTP/2 a request that finds no place has its stream reset: an answer
// could wait on a client that does not read it.
func TestRequestsInFlightHTTP2(t *testing.T) {
	t.Parallel()
	srv, err := server.New(server.Config{Token: testToken, Store: server.NewMemoryStore(testSessions()),
		Limits: server.Limits{MaxRequestsInFlight: 4}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	client := ts.Client()
	body := sendBody(t, "held", "INFO", idConnected)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+sendPath, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	go func() {
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := io.WriteString(pw, body[:1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a request in flight", func() bool { return gauge(t, srv, "refserver_requests_in_flight") == 1 })
	second, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+sessionsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	second.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := client.Do(second)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a second request over the cap: status %d (%s), want a reset stream", resp.StatusCode, resp.Proto)
	}
	if !strings.Contains(err.Error(), "stream error") {
		t.Errorf("a second request over the cap: %v, want a stream error", err)
	}
}

// Bodies in flight: one address holds at most a quarter of the budget, so
// others are served; a chunked login is charged its own limit at most, and
// logins (no token) draw on an eighth that they cannot pass.
func TestBodyBudgetShares(t *testing.T) {
	t.Parallel()
	ts, srv := newBudgetServer(t, server.Config{Limits: server.Limits{MaxBodyBytesInFlight: 64 << 10}})
	body := padded(sendBody(t, "held", "INFO", idConnected), 15<<10)
	// 127.0.0.2 holds 15 KiB of its 16 KiB.
	h := ts.hold(t, "127.0.0.2", ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, ""), body, 10, false)
	waitFor(t, "15 KiB charged", func() bool { return bodyBytesInFlight(t, srv) == 15<<10 })
	wantError(t, ts.doFrom(t, "127.0.0.2", ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, padded(sendBody(t, "m", "INFO", idConnected), 2<<10))),
		http.StatusServiceUnavailable, "as many request bodies")
	if resp := ts.doFrom(t, "127.0.0.3", ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, padded(sendBody(t, "m", "INFO", idConnected), 15<<10))); resp.status != http.StatusOK {
		t.Errorf("another address: %d %s", resp.status, resp.body)
	}

	// Logins have no token: one address of them holds at most 2 KiB.
	login := fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, testUser, testDomain, testPassword)
	l := ts.hold(t, "127.0.0.4", ts.request(t, http.MethodPost, loginPath, "", ""), login, 1, true)
	waitFor(t, "the chunked login charged", func() bool { return bodyBytesInFlight(t, srv) == 15<<10+2<<10 })
	if resp := l.finish(t); resp.status != http.StatusOK {
		t.Errorf("the chunked login: %d %s", resp.status, resp.body)
	}
	if resp := h.finish(t); resp.status != http.StatusOK {
		t.Errorf("the held request: %d %s", resp.status, resp.body)
	}
	waitFor(t, "the budget to be given back", func() bool { return bodyBytesInFlight(t, srv) == 0 })

	// With room to spare, a chunked login is charged no more than a login
	// may carry (4 KiB), not a chunk of 64 KiB.
	ts, srv = newBudgetServer(t, server.Config{})
	l = ts.hold(t, "127.0.0.4", ts.request(t, http.MethodPost, loginPath, "", ""), login, 1, true)
	waitFor(t, "the chunked login charged", func() bool { return bodyBytesInFlight(t, srv) > 0 })
	if got := bodyBytesInFlight(t, srv); got != float64(server.DefaultMaxAuthBodyBytes) {
		t.Errorf("a chunked login is charged %v bytes, want %d", got, server.DefaultMaxAuthBodyBytes)
	}
	if resp := l.finish(t); resp.status != http.StatusOK {
		t.Errorf("the chunked login: %d %s", resp.status, resp.body)
	}
}

// Guessing from one address throttles that address and its pairs with the
// account, never the account: the right password from another address logs
// in. Guessing spread over many addresses slows the account's failed logins
// (each answered late), never its right password.
func TestLoginThrottleCannotLockOut(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var delays []time.Duration
	cfg := server.WithFaultSleep(server.Config{LoginThrottle: server.LoginThrottle{PerUser: 3, PerAddress: 10, PerAccount: 4, Delay: 700 * time.Millisecond}},
		func(_ context.Context, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			delays = append(delays, d)
		})
	ts, _ := newBudgetServer(t, cfg)
	login := func(addr, password string) response {
		return ts.doFrom(t, addr, ts.request(t, http.MethodPost, loginPath, "", fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, testUser, testDomain, password)))
	}
	for range 3 {
		wantError(t, login("127.0.0.2", "wrong"), http.StatusUnauthorized, "invalid user name")
	}
	wantError(t, login("127.0.0.2", testPassword), http.StatusTooManyRequests, "too many failed logins")
	if resp := login("127.0.0.3", testPassword); resp.status != http.StatusOK {
		t.Fatalf("the right password from another address while one guesses: %d %s", resp.status, resp.body)
	}
	mu.Lock()
	if len(delays) != 0 {
		t.Errorf("delays %v before the account failed 4 times", delays)
	}
	mu.Unlock()
	// A fourth and fifth address each fail once: the account has failed
	// 5 times over all addresses, past its 4.
	wantError(t, login("127.0.0.4", "wrong"), http.StatusUnauthorized, "invalid user name")
	wantError(t, login("127.0.0.5", "wrong"), http.StatusUnauthorized, "invalid user name")
	mu.Lock()
	if len(delays) != 1 || delays[0] != 700*time.Millisecond {
		t.Errorf("delays %v, want one of 700ms: the failure past the account's 4", delays)
	}
	mu.Unlock()
	if resp := login("127.0.0.6", testPassword); resp.status != http.StatusOK {
		t.Fatalf("the right password while the account is guessed at from many addresses: %d %s", resp.status, resp.body)
	}
	mu.Lock()
	if len(delays) != 1 {
		t.Errorf("the right password was delayed: %v", delays)
	}
	mu.Unlock()
}

// A user name logs in when strings.EqualFold says it is the stored one, and
// its tokens carry the stored spelling; a name that only lower-cases to it
// (U+0130, İ) does not.
func TestUserNamesCompareAsEqualFold(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{Users: []model.ReferenceUser{{Username: "administrator", Domain: "EXAMPLE", Password: testPassword}}})
	login := func(user, domain string) response {
		return srv.do(t, srv.request(t, http.MethodPost, loginPath, "", fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, user, domain, testPassword)))
	}
	resp := login("ADMINISTRATOR", "example")
	if resp.status != http.StatusOK {
		t.Fatalf("another case: %d %s", resp.status, resp.body)
	}
	if sub := claims(t, decodeStrict[model.AuthTokens](t, resp.body).AccessToken)["sub"]; sub != `EXAMPLE\administrator` {
		t.Errorf("sub = %v, want the stored spelling", sub)
	}
	wantError(t, login("ADM\u0130N\u0130STRATOR", "EXAMPLE"), http.StatusUnauthorized, "invalid user name")
}

// Fault rules are bounded: in number (409), in delay (400 past what the
// server allows), in the length of their strings and ids (the spec, 400);
// their list is paged.
func TestFaultRulesBounded(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{Limits: server.Limits{MaxFaultRules: 3, MaxFaultDelay: time.Second}})
	add := func(rule string) response {
		return srv.do(t, srv.request(t, http.MethodPost, faultsPath, "Bearer "+testToken, rule))
	}
	wantError(t, add(`{"operation":"getSession","action":"delay","delay_ms":1500}`), http.StatusBadRequest, "/delay_ms: 1500 ms is longer than the server allows (1000 ms)")
	wantError(t, add(`{"operation":"getSession","action":"delay","delay_ms":10,"delay_max_ms":1001}`), http.StatusBadRequest, "/delay_max_ms: 1001 ms")
	wantError(t, add(`{"operation":"sendMessageToSessions","action":"fail_sessions","error_message":"`+repeat("x", 1001)+`"}`),
		http.StatusBadRequest, "/error_message: maximum string length is 1000")
	wantError(t, add(`{"operation":"getSession","action":"respond","status":503,"session_ids":["`+repeat("x", 257)+`"]}`),
		http.StatusBadRequest, "/session_ids/0: maximum string length is 256")
	manyIDs := `["` + strings.Join(ids(1001), `","`) + `"]`
	wantError(t, add(`{"operation":"getSession","action":"respond","status":503,"session_ids":`+manyIDs+`}`),
		http.StatusBadRequest, "/session_ids: maximum number of items is 1000")
	for range 3 {
		if resp := add(`{"operation":"getSession","action":"delay","delay_ms":1000}`); resp.status != http.StatusCreated {
			t.Fatalf("add: %d %s", resp.status, resp.body)
		}
	}
	wantError(t, add(`{"operation":"getSession","action":"respond","status":503}`), http.StatusConflict, "the server holds 3 fault rules")

	var ids []string
	after := ""
	for page := 0; ; page++ {
		resp := srv.do(t, srv.request(t, http.MethodGet, faultsPath+"?limit=2"+after, "Bearer "+testToken, ""))
		got := decodeStrict[model.Faults](t, resp.body)
		for _, f := range got.Faults {
			ids = append(ids, f.ID)
		}
		if got.NextAfter == nil {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		after = "&after=" + *got.NextAfter
	}
	if strings.Join(ids, ",") != "1,2,3" {
		t.Errorf("paged ids %v, want 1,2,3", ids)
	}
	// After a rule that is gone: from the next one still there.
	srv.do(t, srv.request(t, http.MethodDelete, faultsPath+"/2", "Bearer "+testToken, ""))
	got := decodeStrict[model.Faults](t, srv.do(t, srv.request(t, http.MethodGet, faultsPath+"?after=2", "Bearer "+testToken, "")).body)
	if len(got.Faults) != 1 || got.Faults[0].ID != "3" {
		t.Errorf("after a deleted rule: %+v, want rule 3", got.Faults)
	}
}

// A delayed read is made when it is due, not made first and held.
func TestDelayedReadMadeWhenDue(t *testing.T) {
	t.Parallel()
	store := &countingStore{MemoryStore: server.NewMemoryStore(testSessions())}
	var readsBeforeSleep []int64
	cfg := server.WithFaultSleep(server.Config{Token: testToken, Store: store}, func(context.Context, time.Duration) {
		readsBeforeSleep = append(readsBeforeSleep, store.reads.Load())
	})
	srv := startServer(t, cfg)
	srv.do(t, srv.request(t, http.MethodPost, faultsPath, "Bearer "+testToken, `{"operation":"listSessions","action":"delay","delay_ms":5000}`))
	if resp := srv.do(t, srv.request(t, http.MethodGet, sessionsPath, "Bearer "+testToken, "")); resp.status != http.StatusOK {
		t.Fatalf("list: %d %s", resp.status, resp.body)
	}
	if len(readsBeforeSleep) != 1 || readsBeforeSleep[0] != 0 {
		t.Errorf("sessions read before the delay: %v, want none", readsBeforeSleep)
	}
	if store.reads.Load() != 1 {
		t.Errorf("sessions read %d times, want once, after the delay", store.reads.Load())
	}
}

// The access log cuts a long path and says its length; of a query it says
// only the length.
func TestAccessLogCutsPaths(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	srv := newTestServer(t, server.Config{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	long := "/rest/" + repeat("p", 4000)
	srv.do(t, srv.request(t, http.MethodGet, long+"?secret="+repeat("q", 100), "Bearer "+testToken, ""))
	var line map[string]any
	for _, l := range logLines(t, log.String()) {
		if l["msg"] == "request" {
			line = l
		}
	}
	if path, _ := line["path"].(string); len(path) > 300 || !strings.HasPrefix(path, "/rest/ppp") {
		t.Errorf("path logged as %q, want it cut", path)
	}
	if line["path_len"] != float64(len(long)) || line["query_len"] != float64(len("secret=")+100) {
		t.Errorf("path_len %v, query_len %v; want %d and %d", line["path_len"], line["query_len"], len(long), len("secret=")+100)
	}
	if strings.Contains(log.String(), "qqqq") {
		t.Error("the query's text is in the log")
	}
}

// countingStore counts the reads of its sessions.
type countingStore struct {
	*server.MemoryStore
	reads atomic.Int64
}

func (s *countingStore) Sessions() []model.SessionInfo {
	s.reads.Add(1)
	return s.MemoryStore.Sessions()
}

// A body that the generic validator decodes is charged what decoding costs
// (64 times its size) in a budget of its own, where one address holds at
// most half; a body of the fast path is not.
func TestDecodeBudget(t *testing.T) {
	t.Parallel()
	ts, srv := newBudgetServer(t, server.Config{Limits: server.Limits{MaxDecodeBytesInFlight: 64 << 10}})
	rule := padded(`{"operation":"getSession","action":"respond","status":503}`, 1100)
	h := ts.hold(t, "127.0.0.2", ts.request(t, http.MethodPost, faultsPath, "Bearer "+testToken, ""), rule, 500, false)
	waitFor(t, "the held rule's decoding charged", func() bool { return gauge(t, srv, "refserver_decode_bytes_in_flight") >= 64*500 })
	wantError(t, ts.doFrom(t, "127.0.0.2", ts.request(t, http.MethodPost, faultsPath, "Bearer "+testToken, `{"operation":"getSession","action":"respond","status":503}`)),
		http.StatusServiceUnavailable, "as many request bodies")
	if resp := ts.doFrom(t, "127.0.0.2", ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, sendBody(t, "fast", "INFO", idConnected))); resp.status != http.StatusOK {
		t.Errorf("a body of the fast path from the same address: %d %s", resp.status, resp.body)
	}
	if resp := ts.doFrom(t, "127.0.0.3", ts.request(t, http.MethodPost, faultsPath, "Bearer "+testToken, rule)); resp.status != http.StatusCreated {
		t.Errorf("a rule from another address: %d %s", resp.status, resp.body)
	}
	if resp := h.finish(t); resp.status != http.StatusCreated {
		t.Errorf("the held rule: %d %s", resp.status, resp.body)
	}
	waitFor(t, "the budget to be given back", func() bool { return gauge(t, srv, "refserver_decode_bytes_in_flight") == 0 })
}

// A page of fault rules stops early at large rules: the whole list of rules
// at their caps is never one answer, and next_after walks it all.
func TestFaultPagesStopAtLargeRules(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	id := repeat("x", 250)
	var ids []string
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("%s%04d", id, i))
	}
	rule := `{"operation":"getSession","action":"respond","status":503,"session_ids":["` + strings.Join(ids, `","`) + `"]}`
	for range 6 {
		if resp := srv.do(t, srv.request(t, http.MethodPost, faultsPath, "Bearer "+testToken, rule)); resp.status != http.StatusCreated {
			t.Fatalf("add: %d %s", resp.status, resp.body)
		}
	}
	seen, pages, after := 0, 0, ""
	for ; pages < 10; pages++ {
		resp := srv.do(t, srv.request(t, http.MethodGet, faultsPath+after, "Bearer "+testToken, ""))
		if len(resp.body) > 2<<20 {
			t.Errorf("a page of %d bytes", len(resp.body))
		}
		got := decodeStrict[model.Faults](t, resp.body)
		seen += len(got.Faults)
		if got.NextAfter == nil {
			break
		}
		after = "?after=" + *got.NextAfter
	}
	if seen != 6 || pages < 1 {
		t.Errorf("%d rules in %d pages, want all 6 in several", seen, pages+1)
	}
}
