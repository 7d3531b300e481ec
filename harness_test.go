package sendmessage_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

const (
	testToken      = "contract-test-token"
	seedSessionID  = "7cdd624f-37d1-46c1-ab96-695a5d13956f"
	sendMessageURL = "/rest/inventory/v1/sessions/action/send-message"
	messagesURL    = "/rest/refserver/v1/messages"
)

// testClock is the fixed time every contract-test server answers with.
var testClock = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// testServer is the reference server behind real HTTP, with every response
// checked against the spec before the test sees it.
type testServer struct {
	URL   string
	Store *server.MemoryStore
}

type serverOption func(*server.Config)

func withLimits(l server.Limits) serverOption { return func(c *server.Config) { c.Limits = l } }

// withRecordCap has New make the store over the demo sessions, keeping at most
// n deliveries (0: the default cap). testServer.Store is then nil.
func withRecordCap(n int) serverOption {
	return func(c *server.Config) { c.Store, c.MaxRecordedMessages = nil, n }
}

func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	store := server.NewMemoryStore(sessions)
	cfg := server.Config{
		Token:  testToken,
		Store:  store,
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return testClock },
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(spectest.Load(t).Handler(t, srv))
	t.Cleanup(hs.Close)
	store, _ = cfg.Store.(*server.MemoryStore)
	return &testServer{URL: hs.URL, Store: store}
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
	resp, err := http.DefaultClient.Do(req)
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
func (ts *testServer) delivered(t *testing.T) []gen.DeliveredMessage {
	t.Helper()
	return ts.deliveredRecord(t).Messages
}

// deliveredRecord returns the whole answer of the inspection endpoint.
func (ts *testServer) deliveredRecord(t *testing.T) gen.DeliveredMessages {
	t.Helper()
	resp, body := ts.do(t, http.MethodGet, messagesURL, "", "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("inspection answered %d: %s", resp.StatusCode, body)
	}
	var got gen.DeliveredMessages
	mustUnmarshal(t, body, &got)
	return got
}
