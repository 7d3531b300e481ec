package sendmessage_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/api"
	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// The generated code embeds the spec it was generated from; it must be the
// spec in api/, or gen/ is stale.
func TestGeneratedCodeMatchesTheSpec(t *testing.T) {
	t.Parallel()
	embedded, err := apiserver.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	source, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := specJSON(t, embedded), specJSON(t, source); got != want {
		t.Error("gen/ was generated from another version of api/openapi.yaml: run `make generate`")
	}
}

// specJSON renders doc for comparison. The generator writes operation ids in
// Go's exported form, so their first letter is not compared.
func specJSON(t *testing.T, doc *openapi3.T) string {
	t.Helper()
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			op.OperationID = strings.ToLower(op.OperationID[:1]) + op.OperationID[1:]
		}
	}
	return mustMarshal(t, doc)
}

// Every example in the spec is valid against its own schema.
func TestSpecExamplesMatchTheirSchemas(t *testing.T) {
	t.Parallel()
	doc := spectest.Load(t).Doc()
	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil {
				for mime, media := range op.RequestBody.Value.Content {
					if media.Example != nil {
						checked++
						if err := media.Schema.Value.VisitJSON(media.Example); err != nil {
							t.Errorf("%s %s request %s example: %v", method, path, mime, err)
						}
					}
				}
			}
			for _, p := range op.Parameters {
				for mime, media := range p.Value.Content {
					if media.Example != nil {
						checked++
						if err := media.Schema.Value.VisitJSON(media.Example); err != nil {
							t.Errorf("%s %s parameter %s %s example: %v", method, path, p.Value.Name, mime, err)
						}
					}
				}
			}
			for status, resp := range op.Responses.Map() {
				for mime, media := range resp.Value.Content {
					if media.Example != nil {
						checked++
						if err := media.Schema.Value.VisitJSON(media.Example); err != nil {
							t.Errorf("%s %s %s %s example: %v", method, path, status, mime, err)
						}
					}
				}
			}
		}
	}
	if checked < 5 {
		t.Errorf("checked %d examples; the spec should carry at least the request and response examples", checked)
	}
}

// Each operation's request example, sent to the server with the examples of
// its parameters, gets a documented success (the response is checked against
// the spec by the harness). The test server's account is the login example's;
// a refresh token in an example is replaced by one from a fresh login, and the
// id of a fault rule by that of a rule added for the request.
func TestSpecRequestExamplesAreServed(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	doc := spectest.Load(t).Doc()
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			body := ""
			if op.RequestBody != nil {
				example := op.RequestBody.Value.Content.Get("application/json").Example
				if example == nil {
					t.Errorf("%s %s has a request body without an example", method, path)
					continue
				}
				if fields, ok := example.(map[string]any); ok && fields["refresh_token"] != nil {
					fields = maps.Clone(fields)
					fields["refresh_token"] = ts.login(t).RefreshToken
					example = fields
				}
				body = mustMarshal(t, example)
			}
			target, query := path, url.Values{}
			for _, p := range op.Parameters {
				value := fmt.Sprint(p.Value.Example)
				// A parameter sent as JSON text has its example with its schema.
				if media := p.Value.Content.Get("application/json"); media != nil && media.Example != nil {
					value = mustMarshal(t, media.Example)
				} else if p.Value.Example == nil {
					t.Errorf("%s %s: parameter %s has no example", method, path, p.Value.Name)
					continue
				}
				if strings.HasPrefix(path, "/refserver/v1/faults/") && p.Value.Name == "id" {
					value = ts.addFault(t, mustMarshal(t, doc.Paths.Find("/refserver/v1/faults").Post.RequestBody.Value.Content.Get("application/json").Example)).ID
				}
				switch p.Value.In {
				case "path":
					target = strings.ReplaceAll(target, "{"+p.Value.Name+"}", url.PathEscape(value))
				case "query":
					query.Set(p.Value.Name, value)
				}
			}
			if len(query) > 0 {
				target += "?" + query.Encode()
			}
			resp, got := ts.do(t, method, "/rest"+target, body,
				"Authorization", "Bearer "+testToken, "Content-Type", "application/json")
			if resp.StatusCode >= 300 {
				t.Errorf("%s %s with its examples answered %d: %s", method, target, resp.StatusCode, got)
			}
		}
	}
}

// The seed's example request is answered with one delivered item.
func TestSeedExampleIsDelivered(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	resp, body := ts.post(t, `{"message":"Sample Info Message","message_type":"INFO","session_ids":["`+seedSessionID+`"]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var items []model.BulkItemResponseInfo
	mustUnmarshal(t, body, &items)
	want := []model.BulkItemResponseInfo{{ID: seedSessionID, StatusCode: 200, Timestamp: testClock.UnixMilli()}}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	user := "S-1-5-21-1085031214-1563985344-725345543-1104"
	wantDelivered := []model.DeliveredMessage{{
		Sequence: 1, SessionID: seedSessionID, UserID: &user, Message: "Sample Info Message",
		MessageType: model.DeliveredMessageMessageTypeINFO, Timestamp: testClock.UnixMilli(),
	}}
	if diff := cmp.Diff(wantDelivered, ts.delivered(t)); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

func newClient(t *testing.T, ts *testServer, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(ts.URL, append([]client.Option{client.WithToken(testToken)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Demo sessions by state.
const (
	connectedFinance = "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f"
	disconnected     = "9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
	pending          = "c0ffee00-1234-4abc-8def-0123456789ab"
	unknown          = "00000000-0000-4000-8000-000000000000"
)

func TestEachMessageTypeIsDeliveredAsSent(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newClient(t, ts)
	types := []client.MessageType{client.MessageInfo, client.MessageWarning, client.MessageError}
	for _, mt := range types {
		results, err := c.SendMessage(context.Background(), mt, "a "+string(mt)+" message", []string{seedSessionID})
		if err != nil {
			t.Fatalf("%s: %v", mt, err)
		}
		if !results.AllDelivered() {
			t.Errorf("%s: not delivered: %+v", mt, results)
		}
	}
	delivered := ts.delivered(t)
	if len(delivered) != len(types) {
		t.Fatalf("delivered %d messages, want %d", len(delivered), len(types))
	}
	for i, mt := range types {
		if string(delivered[i].MessageType) != string(mt) || delivered[i].Message != "a "+string(mt)+" message" {
			t.Errorf("delivery %d = %s %q, want %s", i, delivered[i].MessageType, delivered[i].Message, mt)
		}
	}
}

func TestResultsPerSessionID(t *testing.T) {
	t.Parallel()
	type want struct {
		status int
		reason string
	}
	tests := []struct {
		name      string
		ids       []string
		want      []want
		delivered []string
	}{
		{"known", []string{seedSessionID}, []want{{200, ""}}, []string{seedSessionID}},
		{"unknown", []string{unknown}, []want{{404, "does not exist"}}, nil},
		{"disconnected", []string{disconnected}, []want{{409, "DISCONNECTED"}}, nil},
		{"pending", []string{pending}, []want{{409, "PENDING"}}, nil},
		{"duplicate", []string{seedSessionID, seedSessionID, seedSessionID},
			[]want{{200, ""}, {409, "repeated"}, {409, "repeated"}}, []string{seedSessionID}},
		{"duplicate unknown", []string{unknown, unknown}, []want{{404, "does not exist"}, {409, "repeated"}}, nil},
		{"mixed, in request order",
			[]string{unknown, connectedFinance, disconnected, seedSessionID, connectedFinance},
			[]want{{404, "does not exist"}, {200, ""}, {409, "DISCONNECTED"}, {200, ""}, {409, "repeated"}},
			[]string{connectedFinance, seedSessionID}},
		{"empty string id", []string{""}, []want{{404, "does not exist"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t)
			results, err := newClient(t, ts).SendMessage(context.Background(), client.MessageWarning, "Restart in 15 minutes", tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != len(tt.ids) {
				t.Fatalf("got %d results for %d ids", len(results), len(tt.ids))
			}
			for i, r := range results {
				if r.SessionID != tt.ids[i] {
					t.Errorf("result %d is for %q, want %q", i, r.SessionID, tt.ids[i])
				}
				if r.StatusCode != tt.want[i].status {
					t.Errorf("result %d status %d, want %d", i, r.StatusCode, tt.want[i].status)
				}
				if r.Delivered() != (tt.want[i].reason == "") || !strings.Contains(r.Reason(), tt.want[i].reason) {
					t.Errorf("result %d reason %q, want one containing %q", i, r.Reason(), tt.want[i].reason)
				}
				if !r.Time.Equal(testClock) {
					t.Errorf("result %d time %v, want %v", i, r.Time, testClock)
				}
			}
			var got []string
			for _, m := range ts.delivered(t) {
				got = append(got, m.SessionID)
			}
			if diff := cmp.Diff(tt.delivered, got); diff != "" {
				t.Errorf("recorded deliveries (-want +got):\n%s", diff)
			}
		})
	}
}

// Requests the spec forbids get 400 naming the problem, and deliver nothing.
func TestInvalidRequestsAreRefused(t *testing.T) {
	t.Parallel()
	const ids = `"session_ids":["` + seedSessionID + `"]`
	tests := []struct {
		name, body, contentType string
		wantInMessage           string
	}{
		{"message missing", `{"message_type":"INFO",` + ids + `}`, "", `property "message" is missing`},
		{"message_type missing", `{"message":"x",` + ids + `}`, "", `property "message_type" is missing`},
		{"session_ids missing", `{"message":"x","message_type":"INFO"}`, "", `property "session_ids" is missing`},
		{"lowercase message type", `{"message":"x","message_type":"info",` + ids + `}`, "", `/message_type: value is not one of the allowed values`},
		{"unknown message type", `{"message":"x","message_type":"INFORMATION",` + ids + `}`, "", `/message_type: value is not one of the allowed values`},
		{"message not a string", `{"message":42,"message_type":"INFO",` + ids + `}`, "", `/message: value must be a string`},
		{"session_ids not an array", `{"message":"x","message_type":"INFO","session_ids":"` + seedSessionID + `"}`, "", `/session_ids: value must be an array`},
		{"session id not a string", `{"message":"x","message_type":"INFO","session_ids":[7]}`, "", `/session_ids/0: value must be a string`},
		{"message_type null", `{"message":"x","message_type":null,` + ids + `}`, "", `/message_type`},
		{"empty message", `{"message":"","message_type":"INFO",` + ids + `}`, "", `/message: minimum string length is 1`},
		{"no session ids", `{"message":"x","message_type":"INFO","session_ids":[]}`, "", `/session_ids: minimum number of items is 1`},
		{"null body", `null`, "", `request body`},
		{"empty body", ``, "", `request body`},
		{"array body", `[]`, "", `request body`},
		{"not JSON", `{"message":`, "", `request body`},
		{"wrong content type", `{"message":"x","message_type":"INFO",` + ids + `}`, "text/plain", `Content-Type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t)
			contentType := tt.contentType
			if contentType == "" {
				contentType = "application/json"
			}
			resp, body := ts.do(t, http.MethodPost, sendMessageURL, tt.body,
				"Authorization", "Bearer "+testToken, "Content-Type", contentType)
			assertError(t, resp, body, http.StatusBadRequest, tt.wantInMessage)
			if got := ts.delivered(t); len(got) != 0 {
				t.Errorf("a refused request delivered %v", got)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	valid := `{"message":"x","message_type":"INFO","session_ids":["` + seedSessionID + `"]}`
	tests := []struct {
		name          string
		header        []string
		body          string
		wantStatus    int
		wantInMessage string
	}{
		{"no token", nil, valid, 401, "missing bearer token"},
		{"wrong token", []string{"Authorization", "Bearer nope"}, valid, 401, "invalid bearer token"},
		{"basic scheme", []string{"Authorization", "Basic " + testToken}, valid, 401, "malformed Authorization header"},
		{"bare token", []string{"Authorization", testToken}, valid, 401, "malformed Authorization header"},
		{"no token, invalid body: auth first", nil, `{"message_type":"info"}`, 401, "missing bearer token"},
		{"lowercase scheme", []string{"Authorization", "bearer " + testToken}, valid, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t)
			resp, body := ts.do(t, http.MethodPost, sendMessageURL, tt.body,
				append([]string{"Content-Type", "application/json"}, tt.header...)...)
			if tt.wantStatus == http.StatusOK {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				return
			}
			assertError(t, resp, body, tt.wantStatus, tt.wantInMessage)
			if got := resp.Header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want Bearer", got)
			}
			if got := ts.delivered(t); len(got) != 0 {
				t.Errorf("an unauthenticated request delivered %v", got)
			}
		})
	}
}

func TestClientReportsServerErrorsAsAPIError(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	_, err := newClient(t, ts, client.WithToken("wrong")).SendMessage(context.Background(), client.MessageInfo, "x", []string{seedSessionID})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *client.APIError", err)
	}
	if apiErr.StatusCode != http.StatusUnauthorized || !strings.Contains(apiErr.Message(), "invalid bearer token") {
		t.Errorf("got %d %q, want 401 containing %q", apiErr.StatusCode, apiErr.Message(), "invalid bearer token")
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	limits := server.Limits{MaxBodyBytes: 2048, MaxMessageLength: 10, MaxSessionIDs: 3}
	ts := startServer(t, withLimits(limits))
	tests := []struct {
		name          string
		body          string
		wantStatus    int
		wantInMessage string
	}{
		{"message at the limit", `{"message":"0123456789","message_type":"INFO","session_ids":["a"]}`, 200, ""},
		{"message over the limit", `{"message":"0123456789X","message_type":"INFO","session_ids":["a"]}`, 400, "/message: maximum string length is 10"},
		{"ids at the limit", `{"message":"x","message_type":"INFO","session_ids":["a","b","c"]}`, 200, ""},
		{"ids over the limit", `{"message":"x","message_type":"INFO","session_ids":["a","b","c","d"]}`, 400, "/session_ids: maximum number of items is 3"},
		{"body over the limit", `{"message":"x","message_type":"INFO","session_ids":["` + strings.Repeat("a", 2048) + `"]}`, 413, "larger than 2048 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := ts.post(t, tt.body)
			if tt.wantStatus == http.StatusOK {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				return
			}
			assertError(t, resp, body, tt.wantStatus, tt.wantInMessage)
		})
	}
}

func TestDefaultBodyLimitIsEnforced(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	huge := `{"message":"x","message_type":"INFO","session_ids":["` + strings.Repeat("a", int(server.DefaultMaxBodyBytes)) + `"]}`
	resp, body := ts.post(t, huge)
	assertError(t, resp, body, http.StatusRequestEntityTooLarge, "request body is larger than")
}

func TestInspectionEndpoint(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newClient(t, ts)
	if _, err := c.SendMessage(context.Background(), client.MessageInfo, "first", []string{seedSessionID, connectedFinance}); err != nil {
		t.Fatal(err)
	}
	resp, body := ts.do(t, http.MethodGet, messagesURL+"?session_id="+connectedFinance, "", "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var one model.DeliveredMessages
	mustUnmarshal(t, body, &one)
	if len(one.Messages) != 1 || one.Messages[0].SessionID != connectedFinance || one.Messages[0].Sequence != 2 {
		t.Errorf("filtered messages = %+v, want the one delivery to %s with sequence 2", one.Messages, connectedFinance)
	}

	resp, body = ts.do(t, http.MethodDelete, messagesURL, "", "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("clear answered %d: %s", resp.StatusCode, body)
	}
	if got := ts.delivered(t); len(got) != 0 {
		t.Fatalf("after clear: %v", got)
	}
	if _, err := c.SendMessage(context.Background(), client.MessageInfo, "second", []string{seedSessionID}); err != nil {
		t.Fatal(err)
	}
	if got := ts.delivered(t); len(got) != 1 || got[0].Sequence != 3 || got[0].Message != "second" {
		t.Errorf("after clear and send: %+v, want one message with sequence 3", got)
	}

	resp, body = ts.do(t, http.MethodGet, messagesURL, "")
	assertError(t, resp, body, http.StatusUnauthorized, "missing bearer token")
}

func TestHealthNeedsNoToken(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	resp, body := ts.do(t, http.MethodGet, "/rest/refserver/v1/health", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var health model.Health
	mustUnmarshal(t, body, &health)
	if health.Status != model.HealthStatusOk || health.Sessions != ts.Store.SessionCount() {
		t.Errorf("health = %+v, want ok with %d sessions", health, ts.Store.SessionCount())
	}
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	auth := []string{"Authorization", "Bearer " + testToken}
	tests := []struct {
		name, method, path string
		wantStatus         int
	}{
		{"unknown path under /rest", http.MethodGet, "/rest/inventory/v1/nothing", 404},
		{"unknown path outside /rest", http.MethodGet, "/nothing", 404},
		{"GET on send-message", http.MethodGet, sendMessageURL, 405},
		{"PUT on send-message", http.MethodPut, sendMessageURL, 405},
		{"send-message without /rest", http.MethodPost, "/inventory/v1/sessions/action/send-message", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := ts.do(t, tt.method, tt.path, "", auth...)
			assertError(t, resp, body, tt.wantStatus, "")
		})
	}
}

// assertError checks an error answer: its status, the three forms of the
// reason agreeing, and the reason naming the problem.
func assertError(t *testing.T, resp answer, body []byte, wantStatus int, wantInMessage string) {
	t.Helper()
	if resp.StatusCode != wantStatus {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, wantStatus, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
	var e model.ErrorResponse
	mustUnmarshal(t, body, &e)
	if !strings.Contains(e.ErrorMessage, wantInMessage) {
		t.Errorf("error_message = %q, want it to contain %q", e.ErrorMessage, wantInMessage)
	}
	if len(e.ErrorMessages) != 1 || e.ErrorMessages[0] != e.ErrorMessage ||
		len(e.Errors) != 1 || e.Errors[0].ErrorMessage != e.ErrorMessage || e.Errors[0].ErrorKey == "" {
		t.Errorf("the three forms of the reason disagree: %s", body)
	}
}
