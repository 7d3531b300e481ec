package sendmessage_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/fakeclock"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

const (
	testToken      = "contract-test-token"
	seedSessionID  = "7cdd624f-37d1-46c1-ab96-695a5d13956f"
	sendMessageURL = "/rest/inventory/v1/sessions/action/send-message"
	messagesURL    = "/rest/refserver/v1/messages"
)

// testClock is the time every contract-test server starts at.
var testClock = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// The account of the contract-test servers: the spec's login example.
const (
	testUser     = "administrator"
	testDomain   = "EXAMPLE"
	testPassword = "Example-Passw0rd"
)

// testServer is the reference server behind real HTTP, with every response
// checked against the spec before the test sees it.
type testServer struct {
	URL   string
	Store *server.MemoryStore
	Clock *fakeclock.Clock
	// Certificate is the server's, when it serves HTTPS.
	Certificate *x509.Certificate
	// HTTPClient trusts Certificate.
	HTTPClient *http.Client

	mu       sync.Mutex
	requests []string // "METHOD /path", in order
	bearers  []string // every bearer token presented
	arriving func(*http.Request)
}

// beforeEach has f called with each request before it is served.
func (ts *testServer) beforeEach(f func(*http.Request)) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.arriving = f
}

// arrive calls the beforeEach function, if any.
func (ts *testServer) arrive(r *http.Request) {
	ts.mu.Lock()
	f := ts.arriving
	ts.mu.Unlock()
	if f != nil {
		f(r)
	}
}

// note records a request as it arrives.
func (ts *testServer) note(r *http.Request) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.requests = append(ts.requests, r.Method+" "+r.URL.Path)
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && !slices.Contains(ts.bearers, token) {
		ts.bearers = append(ts.bearers, token)
	}
}

// takeRequests returns the requests since the last call.
func (ts *testServer) takeRequests() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	r := ts.requests
	ts.requests = nil
	return r
}

// seenBearers returns every bearer token presented so far.
func (ts *testServer) seenBearers() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.bearers)
}

type serverOption func(*server.Config)

func withLimits(l server.Limits) serverOption { return func(c *server.Config) { c.Limits = l } }

// withRecordCap has New make the store over the demo sessions, keeping at most
// n deliveries (0: the default cap). testServer.Store is then nil.
func withRecordCap(n int) serverOption {
	return func(c *server.Config) { c.Store, c.MaxRecordedMessages = nil, n }
}

func withTokenTTLs(access, refresh time.Duration) serverOption {
	return func(c *server.Config) { c.AccessTokenTTL, c.RefreshTokenTTL = access, refresh }
}

func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	return start(t, httptest.NewServer, opts...)
}

// startTLSServer is startServer over HTTPS, with httptest's certificate.
func startTLSServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	return start(t, httptest.NewTLSServer, opts...)
}

func start(t *testing.T, newServer func(http.Handler) *httptest.Server, opts ...serverOption) *testServer {
	t.Helper()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	store := server.NewMemoryStore(sessions)
	clock := fakeclock.New(testClock)
	cfg := server.Config{
		Token:  testToken,
		Users:  []model.ReferenceUser{{Username: testUser, Domain: testDomain, Password: testPassword}},
		Store:  store,
		Logger: slog.New(slog.DiscardHandler),
		Now:    clock.Now,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, _ = cfg.Store.(*server.MemoryStore)
	ts := &testServer{Store: store, Clock: clock}
	checked := spectest.Load(t).Handler(t, srv)
	hs := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.note(r)
		ts.arrive(r)
		checked.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	ts.URL, ts.HTTPClient = hs.URL, hs.Client()
	if hs.TLS != nil {
		ts.Certificate = hs.Certificate()
	}
	return ts
}

// answer is a response as a test sees it, body read and closed.
type answer struct {
	StatusCode int
	Header     http.Header
}

// do sends a raw request; header pairs are name, value, name, value...
func (ts *testServer) do(t *testing.T, method, path, body string, header ...string) (answer, []byte) {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, ts.URL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{StatusCode: resp.StatusCode, Header: resp.Header}, b
}

// post sends a JSON body to send-message with the right token.
func (ts *testServer) post(t *testing.T, body string) (answer, []byte) {
	t.Helper()
	return ts.do(t, http.MethodPost, sendMessageURL, body,
		"Authorization", "Bearer "+testToken, "Content-Type", "application/json")
}

// delivered returns what the inspection endpoint says was delivered.
func (ts *testServer) delivered(t *testing.T) []model.DeliveredMessage {
	t.Helper()
	return ts.deliveredRecord(t).Messages
}

// deliveredRecord returns the whole record, read page by page from the
// inspection endpoint, as one answer. Each page must follow the last.
func (ts *testServer) deliveredRecord(t *testing.T) model.DeliveredMessages {
	t.Helper()
	all := model.DeliveredMessages{Messages: []model.DeliveredMessage{}}
	var after int64
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the inspection endpoint keeps answering more pages")
		}
		resp, body := ts.do(t, http.MethodGet, fmt.Sprintf("%s?limit=1000&after=%d", messagesURL, after), "", "Authorization", "Bearer "+testToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("inspection answered %d: %s", resp.StatusCode, body)
		}
		var page model.DeliveredMessages
		mustUnmarshal(t, body, &page)
		all.Messages = append(all.Messages, page.Messages...)
		all.Evicted = page.Evicted
		if page.NextAfter == nil {
			return all
		}
		if len(page.Messages) == 0 || *page.NextAfter != page.Messages[len(page.Messages)-1].Sequence {
			t.Fatalf("next_after %d does not follow the page's last message (%d messages)", *page.NextAfter, len(page.Messages))
		}
		after = *page.NextAfter
	}
}

// login logs the test account in with a plain request.
func (ts *testServer) login(t *testing.T) model.AuthTokens {
	t.Helper()
	body := mustMarshal(t, map[string]string{"username": testUser, "password": testPassword, "domain": testDomain})
	resp, got := ts.do(t, http.MethodPost, "/rest/login", body, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, got)
	}
	var tokens model.AuthTokens
	mustUnmarshal(t, got, &tokens)
	return tokens
}

// faultsURL is where the fault rules are.
const faultsURL = "/rest/refserver/v1/faults"

// addFault adds the fault rule rule (JSON) and returns it with its id.
func (ts *testServer) addFault(t *testing.T, rule string) model.Fault {
	t.Helper()
	resp, body := ts.do(t, http.MethodPost, faultsURL, rule, "Authorization", "Bearer "+testToken, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add fault rule %s: %d %s", rule, resp.StatusCode, body)
	}
	var fault model.Fault
	mustUnmarshal(t, body, &fault)
	return fault
}

// fault reads the fault rule with the given id, hit count included.
func (ts *testServer) fault(t *testing.T, id string) model.Fault {
	t.Helper()
	resp, body := ts.do(t, http.MethodGet, faultsURL+"/"+id, "", "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fault rule %s: %d %s", id, resp.StatusCode, body)
	}
	var fault model.Fault
	mustUnmarshal(t, body, &fault)
	return fault
}
