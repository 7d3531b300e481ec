package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/client"
)

func TestNewNormalizesBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://horizon.example.com", "https://horizon.example.com/rest"},
		{"https://horizon.example.com/", "https://horizon.example.com/rest"},
		{"https://horizon.example.com/rest", "https://horizon.example.com/rest"},
		{"https://horizon.example.com/rest/", "https://horizon.example.com/rest"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/rest"},
		{"https://proxy.example.com/horizon", "https://proxy.example.com/horizon/rest"},
	}
	for _, tt := range tests {
		c, err := client.New(tt.in)
		if err != nil {
			t.Errorf("New(%q): %v", tt.in, err)
			continue
		}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		opts      []client.Option
		wantInErr string
	}{
		{"empty URL", "", nil, "scheme"},
		{"no scheme", "horizon.example.com", nil, "has no scheme: begin it with https://"},
		{"an address and port without a scheme", "127.0.0.1:8080", nil, `"127.0.0.1:8080" has no scheme: begin it with https:// (or http://`},
		{"a name and port without a scheme", "localhost:8080", nil, "has no scheme"},
		{"ftp scheme", "ftp://horizon.example.com", nil, "scheme"},
		{"no host", "https://", nil, "no host"},
		{"query", "https://h.example.com?x=1", nil, "query"},
		{"credentials", "https://u:p@h.example.com", nil, "credentials"},
		{"unparsable", "https://h.example.com/%zz", nil, "base URL"},
		{"empty token", "https://h.example.com", []client.Option{client.WithToken("")}, "empty token"},
		{"blank token", "https://h.example.com", []client.Option{client.WithToken("  ")}, "empty token"},
		{"token with space", "https://h.example.com", []client.Option{client.WithToken("a b")}, "white space"},
		{"nil HTTP client", "https://h.example.com", []client.Option{client.WithHTTPClient(nil)}, "nil client"},
		{"empty user agent", "https://h.example.com", []client.Option{client.WithUserAgent("")}, "user agent"},
		{"zero response limit", "https://h.example.com", []client.Option{client.WithMaxResponseBytes(0)}, "not positive"},
		{"nil option", "https://h.example.com", []client.Option{nil}, "nil option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client.New(tt.url, tt.opts...)
			if !errors.Is(err, client.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantInErr)
			}
		})
	}
}

// recorder answers every request with a fixed status and body, and keeps the
// last request it saw.
type recorder struct {
	status      int
	contentType string
	body        string
	last        chan *http.Request
}

func startRecorder(t *testing.T, status int, contentType, body string) (*recorder, string) {
	t.Helper()
	rec := &recorder{status: status, contentType: contentType, body: body, last: make(chan *http.Request, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		select {
		case rec.last <- r:
		default:
		}
		if rec.contentType != "" {
			w.Header().Set("Content-Type", rec.contentType)
		}
		w.WriteHeader(rec.status)
		_, _ = io.WriteString(w, rec.body)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func TestSendMessageSendsTheSpecsRequest(t *testing.T) {
	t.Parallel()
	rec, url := startRecorder(t, http.StatusOK, "application/json", `[]`)
	c, err := client.New(url, client.WithToken("tok"), client.WithUserAgent("ops-script/1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(context.Background(), client.MessageError, "Disk full", []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	req := <-rec.last
	if req.Method != http.MethodPost || req.URL.Path != "/rest/inventory/v1/sessions/action/send-message" {
		t.Errorf("request = %s %s", req.Method, req.URL.Path)
	}
	for header, want := range map[string]string{
		"Authorization": "Bearer tok",
		"Content-Type":  "application/json",
		"User-Agent":    "ops-script/1.0",
	} {
		if got := req.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	body, _ := io.ReadAll(req.Body)
	if got, want := strings.TrimSpace(string(body)), `{"message":"Disk full","message_type":"ERROR","session_ids":["a","b"]}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestSendMessageSendsNoTokenWhenNoneIsSet(t *testing.T) {
	t.Parallel()
	rec, url := startRecorder(t, http.StatusOK, "application/json", `[]`)
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(context.Background(), client.MessageInfo, "x", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	req := <-rec.last
	if got := req.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none", got)
	}
}

func TestSendMessageRejectsNoIDsBeforeSending(t *testing.T) {
	t.Parallel()
	rec, url := startRecorder(t, http.StatusOK, "application/json", `[]`)
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][]string{nil, {}} {
		results, err := c.SendMessage(context.Background(), client.MessageInfo, "x", ids)
		if !errors.Is(err, client.ErrInvalidInput) || !strings.Contains(err.Error(), "no session ids") || results != nil {
			t.Errorf("SendMessage(%#v) = %v, %v; want ErrInvalidInput saying there are no ids", ids, results, err)
		}
	}
	select {
	case req := <-rec.last:
		t.Errorf("a request was sent: %s %s", req.Method, req.URL)
	default:
	}
}

func TestSendMessageParsesResults(t *testing.T) {
	t.Parallel()
	_, url := startRecorder(t, http.StatusOK, "application/json", `[
		{"id":"a","status_code":200,"timestamp":1561939200000},
		{"id":"b","status_code":404,"timestamp":1561939200000,"error_messages":["Session b does not exist."]},
		{"id":"c","status_code":409,"timestamp":1561939200001,"errors":[{"error_key":"k","error_message":"not connected"},{"error_key":"k2","error_message":"second"}]}
	]`)
	c, err := client.New(url, client.WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	results, err := c.SendMessage(context.Background(), client.MessageInfo, "x", []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1561939200000)
	want := client.Results{
		{SessionID: "a", StatusCode: 200, Time: at},
		{SessionID: "b", StatusCode: 404, Time: at, Reasons: []string{"Session b does not exist."}},
		{SessionID: "c", StatusCode: 409, Time: at.Add(time.Millisecond), Reasons: []string{"not connected", "second"}},
	}
	if diff := cmp.Diff(want, results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:1], results.Delivered()); diff != "" {
		t.Errorf("Delivered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:], results.Failed()); diff != "" {
		t.Errorf("Failed (-want +got):\n%s", diff)
	}
	if results.AllDelivered() {
		t.Error("AllDelivered = true with failures")
	}
	if got, want := results[2].Reason(), "not connected; second"; got != want {
		t.Errorf("Reason = %q, want %q", got, want)
	}
	if !results[:1].AllDelivered() {
		t.Error("AllDelivered = false with no failures")
	}
}

func TestSendMessageTurnsErrorAnswersIntoAPIError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        []string
		wantKeys    []string
	}{
		{"all three forms", 400, "application/json", `{"error_message":"bad","error_messages":["bad"],"errors":[{"error_key":"k","error_message":"bad"}]}`, []string{"bad"}, []string{"k"}},
		{"error_messages only", 400, "application/json", `{"error_messages":["one","two"]}`, []string{"one", "two"}, nil},
		{"error_message only", 401, "application/json", `{"error_message":"expired"}`, []string{"expired"}, nil},
		{"errors only", 400, "application/json", `{"errors":[{"error_key":"k1","error_message":"from errors"},{"error_key":"k2","error_message":"and more"}]}`, []string{"from errors", "and more"}, []string{"k1", "k2"}},
		{"no body", 401, "", ``, nil, nil},
		{"HTML body", 502, "text/html", `<html>bad gateway</html>`, nil, nil},
		{"JSON of another shape", 500, "application/json", `[1,2]`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, url := startRecorder(t, tt.status, tt.contentType, tt.body)
			c, err := client.New(url, client.WithToken("tok"))
			if err != nil {
				t.Fatal(err)
			}
			results, err := c.SendMessage(context.Background(), client.MessageInfo, "x", []string{"a"})
			if results != nil {
				t.Errorf("results = %v, want nil on error", results)
			}
			var apiErr *client.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *client.APIError", err, err)
			}
			if apiErr.StatusCode != tt.status {
				t.Errorf("StatusCode = %d, want %d", apiErr.StatusCode, tt.status)
			}
			if diff := cmp.Diff(tt.want, apiErr.Messages); diff != "" {
				t.Errorf("Messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantKeys, apiErr.Keys); diff != "" {
				t.Errorf("Keys (-want +got):\n%s", diff)
			}
			if wantKey := append(tt.wantKeys, "")[0]; apiErr.Key() != wantKey {
				t.Errorf("Key() = %q, want %q", apiErr.Key(), wantKey)
			}
			if string(apiErr.Body) != tt.body {
				t.Errorf("Body = %q, want %q", apiErr.Body, tt.body)
			}
			msg := err.Error()
			for _, part := range []string{"POST", url + "/rest/inventory/v1/sessions/action/send-message", http.StatusText(tt.status)} {
				if !strings.Contains(msg, part) {
					t.Errorf("Error() = %q, want it to contain %q", msg, part)
				}
			}
		})
	}
}

func TestSendMessageRejectsAnInvalidTypeBeforeSending(t *testing.T) {
	t.Parallel()
	rec, url := startRecorder(t, http.StatusOK, "application/json", `[]`)
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendMessage(context.Background(), client.MessageType("info"), "x", []string{"a"})
	if !errors.Is(err, client.ErrInvalidInput) || !strings.Contains(err.Error(), `"info"`) {
		t.Fatalf("err = %v, want ErrInvalidInput naming the type", err)
	}
	select {
	case <-rec.last:
		t.Error("a request was sent")
	default:
	}
}

func TestSendMessageBoundsTheResponseBody(t *testing.T) {
	t.Parallel()
	body := `[{"id":"a","status_code":200,"timestamp":1}]`
	_, url := startRecorder(t, http.StatusOK, "application/json", body)
	for _, tt := range []struct {
		limit   int64
		wantErr bool
	}{{int64(len(body)) - 1, true}, {int64(len(body)), false}} {
		c, err := client.New(url, client.WithMaxResponseBytes(tt.limit))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SendMessage(context.Background(), client.MessageInfo, "x", []string{"a"})
		if got := errors.Is(err, client.ErrResponseTooLarge); got != tt.wantErr {
			t.Errorf("limit %d: err = %v, want ErrResponseTooLarge: %v", tt.limit, err, tt.wantErr)
		}
	}
}

func TestSendMessageRejectsANonJSONSuccess(t *testing.T) {
	t.Parallel()
	_, url := startRecorder(t, http.StatusOK, "text/plain", `ok`)
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(context.Background(), client.MessageInfo, "x", []string{"a"}); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("err = %v, want a not-JSON error", err)
	}
}

func TestSendMessageHonoursTheContext(t *testing.T) {
	t.Parallel()
	_, url := startRecorder(t, http.StatusOK, "application/json", `[]`)
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.SendMessage(ctx, client.MessageInfo, "x", []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestWithHTTPClientIsUsed(t *testing.T) {
	t.Parallel()
	_, url := startRecorder(t, http.StatusOK, "application/json", `[]`)
	used := false
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, err := client.New(url, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(context.Background(), client.MessageInfo, "x", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if !used {
		t.Error("the HTTP client given with WithHTTPClient was not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAPIErrorRetryAfter(t *testing.T) {
	t.Parallel()
	date := "Fri, 27 Nov 2026 09:00:00 GMT"
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		wantOK bool
	}{
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{"zero", http.Header{"Retry-After": {"0"}}, 0, true},
		{"a date, from the answer's Date", http.Header{"Retry-After": {"Fri, 27 Nov 2026 09:01:30 GMT"}, "Date": {date}}, 90 * time.Second, true},
		{"a date already past", http.Header{"Retry-After": {"Fri, 27 Nov 2026 08:59:00 GMT"}, "Date": {date}}, 0, true},
		{"absent", http.Header{}, 0, false},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0, false},
		{"neither seconds nor a date", http.Header{"Retry-After": {"soon"}}, 0, false},
		{"no header at all", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := (&client.APIError{StatusCode: http.StatusServiceUnavailable, Header: tt.header}).RetryAfter()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RetryAfter() = %s, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAPIErrorCarriesTheAnswersHeader(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendMessage(context.Background(), client.MessageInfo, "x", []string{"a"})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *client.APIError", err)
	}
	if wait, ok := apiErr.RetryAfter(); wait != 2*time.Second || !ok {
		t.Errorf("RetryAfter() = %s, %v; want 2s, true", wait, ok)
	}
}
