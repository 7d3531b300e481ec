package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/api"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// specLimits reads the request limits the published spec declares.
func specLimits(t *testing.T) (maxLength, maxItems int) {
	t.Helper()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	spec := doc.Components.Schemas["SessionSendMessageSpec"]
	if spec == nil || spec.Value == nil {
		t.Fatal("spec has no SessionSendMessageSpec")
	}
	message, ids := spec.Value.Properties["message"], spec.Value.Properties["session_ids"]
	if message == nil || message.Value.MaxLength == nil || ids == nil || ids.Value.MaxItems == nil {
		t.Fatal("spec does not bound message and session_ids")
	}
	return int(*message.Value.MaxLength), int(*ids.Value.MaxItems)
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"no token", server.Config{}, "token"},
		{"negative body limit", server.Config{Token: testToken, Limits: server.Limits{MaxBodyBytes: -1}}, "negative"},
		{"negative message limit", server.Config{Token: testToken, Limits: server.Limits{MaxMessageLength: -1}}, "negative"},
		{"negative id limit", server.Config{Token: testToken, Limits: server.Limits{MaxSessionIDs: -5}}, "negative"},
		{"negative record cap", server.Config{Token: testToken, MaxRecordedMessages: -1}, "negative"},
		{"store and sessions", server.Config{Token: testToken, Store: server.NewMemoryStore(nil), Sessions: testSessions()}, "Store"},
		{"store and record cap", server.Config{Token: testToken, Store: server.NewMemoryStore(nil), MaxRecordedMessages: 5}, "Store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := server.New(tt.cfg)
			if err == nil {
				t.Fatalf("New accepted %+v", tt.cfg)
			}
			if srv != nil {
				t.Errorf("New returned a server with error %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestNewLimits(t *testing.T) {
	t.Parallel()
	maxLength, maxItems := specLimits(t)
	tests := []struct {
		name   string
		limits server.Limits
		want   server.Limits
	}{
		{"zero takes defaults", server.Limits{}, server.Limits{
			MaxBodyBytes: server.DefaultMaxBodyBytes, MaxAuthBodyBytes: server.DefaultMaxAuthBodyBytes,
			MaxBodyBytesInFlight: server.DefaultMaxBodyBytesInFlight, MaxMessageLength: maxLength, MaxSessionIDs: maxItems,
			MaxDecodeBytesInFlight: server.DefaultMaxDecodeBytesInFlight, MaxRequestsInFlight: server.DefaultMaxRequestsInFlight, MaxFaultRules: server.DefaultMaxFaultRules,
		}},
		{"configured kept", server.Limits{
			MaxBodyBytes: 10, MaxAuthBodyBytes: 5, MaxBodyBytesInFlight: 100, MaxMessageLength: 20, MaxSessionIDs: 30,
			MaxDecodeBytesInFlight: 200, MaxRequestsInFlight: 7, MaxFaultRules: 3, MaxFaultDelay: time.Second,
		}, server.Limits{
			MaxBodyBytes: 10, MaxAuthBodyBytes: 5, MaxBodyBytesInFlight: 100, MaxMessageLength: 20, MaxSessionIDs: 30,
			MaxDecodeBytesInFlight: 200, MaxRequestsInFlight: 7, MaxFaultRules: 3, MaxFaultDelay: time.Second,
		}},
		{"above the spec", server.Limits{MaxMessageLength: maxLength * 2, MaxSessionIDs: maxItems * 2}, server.Limits{
			MaxBodyBytes: server.DefaultMaxBodyBytes, MaxAuthBodyBytes: server.DefaultMaxAuthBodyBytes,
			MaxBodyBytesInFlight: server.DefaultMaxBodyBytesInFlight, MaxMessageLength: maxLength * 2, MaxSessionIDs: maxItems * 2,
			MaxDecodeBytesInFlight: server.DefaultMaxDecodeBytesInFlight, MaxRequestsInFlight: server.DefaultMaxRequestsInFlight, MaxFaultRules: server.DefaultMaxFaultRules,
		}},
		{"some zero", server.Limits{MaxSessionIDs: 3}, server.Limits{
			MaxBodyBytes: server.DefaultMaxBodyBytes, MaxAuthBodyBytes: server.DefaultMaxAuthBodyBytes,
			MaxBodyBytesInFlight: server.DefaultMaxBodyBytesInFlight, MaxMessageLength: maxLength, MaxSessionIDs: 3,
			MaxDecodeBytesInFlight: server.DefaultMaxDecodeBytesInFlight, MaxRequestsInFlight: server.DefaultMaxRequestsInFlight, MaxFaultRules: server.DefaultMaxFaultRules,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := server.New(server.Config{Token: testToken, Limits: tt.limits})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if diff := cmp.Diff(tt.want, srv.Limits()); diff != "" {
				t.Errorf("Limits() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimitsEnforced(t *testing.T) {
	t.Parallel()
	maxLength, maxItems := specLimits(t)
	connected := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = idConnected
		}
		return out
	}
	tests := []struct {
		name       string
		limits     server.Limits
		message    string
		ids        []string
		wantStatus int
		want       string
	}{
		{"message at configured limit", server.Limits{MaxMessageLength: 10}, repeat("x", 10), []string{idConnected}, 200, ""},
		{"message over configured limit", server.Limits{MaxMessageLength: 10}, repeat("x", 11), []string{idConnected}, 400, "/message: maximum string length is 10"},
		{"limit counts characters, not bytes", server.Limits{MaxMessageLength: 10}, repeat("é", 10), []string{idConnected}, 200, ""},
		{"message at spec limit", server.Limits{}, repeat("x", maxLength), []string{idConnected}, 200, ""},
		{"message over spec limit", server.Limits{}, repeat("x", maxLength+1), []string{idConnected}, 400, fmt.Sprintf("/message: maximum string length is %d", maxLength)},
		{"message limit raised above the spec", server.Limits{MaxMessageLength: maxLength + 5}, repeat("x", maxLength+5), []string{idConnected}, 200, ""},
		{"ids at configured limit", server.Limits{MaxSessionIDs: 3}, "m", connected(3), 200, ""},
		{"ids over configured limit", server.Limits{MaxSessionIDs: 3}, "m", connected(4), 400, "/session_ids: maximum number of items is 3"},
		{"ids over spec limit", server.Limits{}, "m", ids(maxItems + 1), 400, fmt.Sprintf("/session_ids: maximum number of items is %d", maxItems)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{Limits: tt.limits})
			resp := srv.send(t, sendBody(t, tt.message, "INFO", tt.ids...))
			if tt.wantStatus != http.StatusOK {
				wantError(t, resp, tt.wantStatus, tt.want)
				if got := srv.store.Messages(""); len(got) != 0 {
					t.Errorf("a refused request recorded %d messages", len(got))
				}
				return
			}
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %.300s", resp.status, resp.body)
			}
			if items := decodeStrict[[]model.BulkItemResponseInfo](t, resp.body); len(items) != len(tt.ids) {
				t.Errorf("%d items, want %d", len(items), len(tt.ids))
			}
			if got := srv.store.Messages(""); len(got) != 1 || got[0].Message != tt.message {
				t.Errorf("recorded %d messages, want the one sent", len(got))
			}
		})
	}
}

// The default body limit must admit the spec's largest request: maxItems
// UUIDs and a message of maxLength.
func TestDefaultBodyLimitFitsTheLargestRequest(t *testing.T) {
	t.Parallel()
	maxLength, maxItems := specLimits(t)
	uuids := make([]string, maxItems)
	for i := range uuids {
		uuids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	uuids[0] = idConnected
	body := sendBody(t, repeat("x", maxLength), "INFO", uuids...)
	if int64(len(body)) > server.DefaultMaxBodyBytes {
		t.Fatalf("largest request is %d bytes, over DefaultMaxBodyBytes %d", len(body), server.DefaultMaxBodyBytes)
	}
	srv := newTestServer(t, server.Config{})
	resp := srv.send(t, body)
	if resp.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %.300s", resp.status, resp.body)
	}
	if items := decodeStrict[[]model.BulkItemResponseInfo](t, resp.body); len(items) != maxItems {
		t.Errorf("%d items, want %d", len(items), maxItems)
	}
}

// streamOnly hides the concrete reader, so net/http cannot know the length
// and sends the body chunked.
type streamOnly struct{ r io.Reader }

func (s streamOnly) Read(p []byte) (int, error) { return s.r.Read(p) }

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 256
	// bodyOfSize is a valid request of exactly n bytes.
	bodyOfSize := func(t *testing.T, n int) string {
		t.Helper()
		base := len(sendBody(t, "", "INFO", idConnected))
		body := sendBody(t, repeat("x", n-base), "INFO", idConnected)
		if len(body) != n {
			t.Fatalf("built a body of %d bytes, want %d", len(body), n)
		}
		return body
	}
	tests := []struct {
		name       string
		size       int
		chunked    bool
		wantStatus int
	}{
		{"declared length at the limit", limit, false, http.StatusOK},
		{"declared length over the limit", limit + 1, false, http.StatusRequestEntityTooLarge},
		{"declared length far over the limit", 4 * limit, false, http.StatusRequestEntityTooLarge},
		{"chunked at the limit", limit, true, http.StatusOK},
		{"chunked over the limit", limit + 1, true, http.StatusRequestEntityTooLarge},
		{"chunked far over the limit", 4 * limit, true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{Limits: server.Limits{MaxBodyBytes: limit}})
			body := bodyOfSize(t, tt.size)
			var r io.Reader = strings.NewReader(body)
			if tt.chunked {
				r = streamOnly{r}
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+sendPath, r)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testToken)
			if known := req.ContentLength != 0; known == tt.chunked {
				t.Fatalf("ContentLength = %d: the test does not send what it means to", req.ContentLength)
			}
			resp := srv.do(t, req)
			if tt.wantStatus == http.StatusOK {
				if resp.status != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
				}
				if got := srv.store.Messages(""); len(got) != 1 {
					t.Errorf("recorded %d messages, want 1", len(got))
				}
				return
			}
			wantError(t, resp, tt.wantStatus, fmt.Sprintf("request body is larger than %d bytes", limit))
			if got := srv.store.Messages(""); len(got) != 0 {
				t.Errorf("a refused request recorded %d messages", len(got))
			}
		})
	}
}

// Each server writes its limits into its own copy of the spec.
func TestLimitsAreNotShared(t *testing.T) {
	t.Parallel()
	maxLength, _ := specLimits(t)
	small := newTestServer(t, server.Config{Limits: server.Limits{MaxMessageLength: 5}})
	wide := newTestServer(t, server.Config{})
	message := repeat("x", 6)
	wantError(t, small.send(t, sendBody(t, message, "INFO", idConnected)), http.StatusBadRequest, "maximum string length is 5")
	if resp := wide.send(t, sendBody(t, message, "INFO", idConnected)); resp.status != http.StatusOK {
		t.Errorf("default server: status %d for a %d-character message; body %s", resp.status, len(message), resp.body)
	}
	if got := wide.do(t, wide.request(t, http.MethodPost, sendPath, "Bearer "+testToken, sendBody(t, repeat("x", maxLength+1), "INFO", idConnected))); got.status != http.StatusBadRequest {
		t.Errorf("default server: status %d for a message over the spec's maxLength, want 400", got.status)
	}
}
