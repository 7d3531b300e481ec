package sendmessage_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hzkit/sendmessage/api"
	"github.com/hzkit/sendmessage/gen"
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

// contract is the spec, loaded once and shared read-only by all tests.
var contract = sync.OnceValues(func() (*contractSpec, error) {
	doc, err := api.Load()
	if err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contractSpec{doc: doc, router: router}, nil
})

type contractSpec struct {
	doc    *openapi3.T
	router routers.Router
}

func loadContract(t testing.TB) *contractSpec {
	t.Helper()
	c, err := contract()
	if err != nil {
		t.Fatalf("load contract: %v", err)
	}
	return c
}

// testServer is the reference server behind real HTTP, with every response
// checked against the spec before the test sees it.
type testServer struct {
	URL   string
	Store *server.MemoryStore
}

type serverOption func(*server.Config)

func withLimits(l server.Limits) serverOption { return func(c *server.Config) { c.Limits = l } }

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
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return testClock },
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(validateResponses(t, loadContract(t), srv))
	t.Cleanup(hs.Close)
	return &testServer{URL: hs.URL, Store: store}
}

// validateResponses fails the test for any response the spec does not allow:
// an undeclared status, header or body. Answers to paths or methods the spec
// does not have must still carry its ErrorResponse.
func validateResponses(t *testing.T, spec *contractSpec, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if err := spec.checkResponse(r, rec.Result()); err != nil {
			t.Errorf("%s %s answered %d against the spec: %v\nbody: %s", r.Method, r.URL, rec.Code, err, rec.Body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func (s *contractSpec) checkResponse(r *http.Request, resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		return s.checkErrorBody(body)
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
}

func (s *contractSpec) checkErrorBody(body []byte) error {
	value, err := decodeJSON(body)
	if err != nil {
		return err
	}
	return s.doc.Components.Schemas["ErrorResponse"].Value.VisitJSON(value)
}

// do sends a raw request; header pairs are name, value, name, value...
func (ts *testServer) do(t *testing.T, method, path, body string, header ...string) (*http.Response, []byte) {
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
	return resp, b
}

// post sends a JSON body to send-message with the right token.
func (ts *testServer) post(t *testing.T, body string) (*http.Response, []byte) {
	t.Helper()
	return ts.do(t, http.MethodPost, sendMessageURL, body,
		"Authorization", "Bearer "+testToken, "Content-Type", "application/json")
}

// delivered returns what the inspection endpoint says was delivered.
func (ts *testServer) delivered(t *testing.T) []gen.DeliveredMessage {
	t.Helper()
	resp, body := ts.do(t, http.MethodGet, messagesURL, "", "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("inspection answered %d: %s", resp.StatusCode, body)
	}
	var got gen.DeliveredMessages
	mustUnmarshal(t, body, &got)
	return got.Messages
}
