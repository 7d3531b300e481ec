package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
	"github.com/hzkit/sendmessage/server/refservertest"
)

// addFault adds a fault rule given as JSON and returns it with its id.
func (ts *testServer) addFault(t *testing.T, rule string) model.Fault {
	t.Helper()
	resp := ts.do(t, ts.request(t, http.MethodPost, faultsPath, "Bearer "+testToken, rule))
	if resp.status != http.StatusCreated {
		t.Fatalf("add fault rule %s: status %d, body %s", rule, resp.status, resp.body)
	}
	return decodeStrict[model.Fault](t, resp.body)
}

// hits is the hit count of the fault rule with the given id.
func (ts *testServer) hits(t *testing.T, id string) int64 {
	t.Helper()
	resp := ts.do(t, ts.request(t, http.MethodGet, faultsPath+"/"+id, "Bearer "+testToken, ""))
	if resp.status != http.StatusOK {
		t.Fatalf("fault rule %s: status %d, body %s", id, resp.status, resp.body)
	}
	return decodeStrict[model.Fault](t, resp.body).Hits
}

// sameRuleJSON compares fault rules, which hold their JSON, by it.
var sameRuleJSON = cmp.Comparer(func(a, b model.FaultRule) bool {
	ja, errA := a.MarshalJSON()
	jb, errB := b.MarshalJSON()
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
})

// faultOperations are the operations a fault rule may name, as the spec's
// FaultOperation lists them.
func faultOperations(t *testing.T) []string {
	t.Helper()
	var ops []string
	for _, v := range spectest.Load(t).Doc().Components.Schemas["FaultOperation"].Value.Enum {
		ops = append(ops, fmt.Sprint(v))
	}
	return ops
}

// acceptedRequest is a request for op that the server accepts, made afresh
// (a refresh token from a new login for refresh and logout).
func (ts *testServer) acceptedRequest(t *testing.T, op string) *http.Request {
	t.Helper()
	switch op {
	case "login":
		return ts.request(t, http.MethodPost, loginPath, "", loginBody(t, testUser, testPassword, testDomain))
	case "refreshAccessToken":
		return ts.request(t, http.MethodPost, refreshPath, "", refreshBody(ts.login(t).RefreshToken))
	case "logout":
		return ts.request(t, http.MethodPost, logoutPath, "", refreshBody(ts.login(t).RefreshToken))
	case "listSessions":
		return ts.request(t, http.MethodGet, sessionsPath, "Bearer "+testToken, "")
	case "getSession":
		return ts.request(t, http.MethodGet, sessionsPath+"/"+idConnected, "Bearer "+testToken, "")
	case "sendMessageToSessions":
		return ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, sendBody(t, "m", "INFO", idConnected))
	}
	t.Fatalf("no accepted request for %s", op)
	return nil
}

// errorStatuses are the statuses op declares with an ErrorResponse body, each
// true when its answer declares Retry-After.
func errorStatuses(t *testing.T, op string) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	for _, item := range spectest.Load(t).Doc().Paths.Map() {
		for _, o := range item.Operations() {
			if o.OperationID != op {
				continue
			}
			for code, resp := range o.Responses.Map() {
				status, err := strconv.Atoi(code)
				media := resp.Value.Content.Get("application/json")
				if err != nil || status < 400 || media == nil || media.Schema.Ref != "#/components/schemas/ErrorResponse" {
					continue
				}
				out[status] = resp.Value.Headers["Retry-After"] != nil
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s declares no error answers", op)
	}
	return out
}

func TestFaultRulesAPI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	auth := "Bearer " + testToken

	resp := ts.do(t, ts.request(t, http.MethodPost, faultsPath, auth, `{"operation":"getSession","session_ids":["`+idConnected+`"],"action":"respond","status":503,"retry_after_seconds":5}`))
	if resp.status != http.StatusCreated || resp.header.Get("Location") != faultsPath+"/1" {
		t.Fatalf("add: status %d, Location %q, body %s", resp.status, resp.header.Get("Location"), resp.body)
	}
	first := decodeStrict[model.Fault](t, resp.body)
	second := ts.addFault(t, `{"operation":"logout","action":"close_before_acting","times":2}`)
	respond, err := first.Rule.AsRespondFaultRule()
	if err != nil || first.ID != "1" || second.ID != "2" || first.Hits != 0 || respond.Status != 503 || *respond.RetryAfterSeconds != 5 {
		t.Fatalf("added %+v and %+v", first, second)
	}

	list := ts.do(t, ts.request(t, http.MethodGet, faultsPath, auth, ""))
	if diff := cmp.Diff(model.Faults{Faults: []model.Fault{first, second}}, decodeStrict[model.Faults](t, list.body), sameRuleJSON); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if got := ts.do(t, ts.request(t, http.MethodGet, faultsPath+"/2", auth, "")); !bytes.Contains(got.body, []byte(`"times":2`)) {
		t.Errorf("get 2: %s", got.body)
	}

	if got := ts.do(t, ts.request(t, http.MethodDelete, faultsPath+"/1", auth, "")); got.status != http.StatusNoContent {
		t.Errorf("delete 1: %d %s", got.status, got.body)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		wantError(t, ts.do(t, ts.request(t, method, faultsPath+"/1", auth, "")), http.StatusNotFound, `Fault rule "1" does not exist.`)
	}
	if got := ts.do(t, ts.request(t, http.MethodDelete, faultsPath, auth, "")); got.status != http.StatusNoContent {
		t.Errorf("clear: %d %s", got.status, got.body)
	}
	if got := decodeStrict[model.Faults](t, ts.do(t, ts.request(t, http.MethodGet, faultsPath, auth, "")).body); len(got.Faults) != 0 {
		t.Errorf("after clear: %+v", got.Faults)
	}
	if third := ts.addFault(t, `{"operation":"login","action":"close_before_acting"}`); third.ID != "3" {
		t.Errorf("id after a clear = %q, want 3: ids are not reused", third.ID)
	}

	// Every operation of the API needs the token.
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, faultsPath, ""},
		{http.MethodPost, faultsPath, `{"operation":"login","action":"close_before_acting"}`},
		{http.MethodDelete, faultsPath, ""},
		{http.MethodGet, faultsPath + "/3", ""},
		{http.MethodDelete, faultsPath + "/3", ""},
	} {
		wantError(t, ts.do(t, ts.request(t, r.method, r.path, "", r.body)), http.StatusUnauthorized, "missing bearer token")
	}
	if got := decodeStrict[model.Faults](t, ts.do(t, ts.request(t, http.MethodGet, faultsPath, auth, "")).body); len(got.Faults) != 1 {
		t.Errorf("requests without the token changed the rules: %+v", got.Faults)
	}
}

// A rule is checked against the spec: its schema first, then what its
// operation declares. The 400 names the field.
func TestFaultRulesRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ rule, want string }{
		{`{"operation":"sendMessageToSessions","action":"respond","status":503,"retry_after":2}`, `request body: /retry_after: property "retry_after" is unsupported`},
		{`{"operation":"deleteFault","action":"close_before_acting"}`, "request body: /operation: value is not one of the allowed values"},
		{`{"operation":"login","action":"respond","status":302}`, "request body: /status: number must be at least 400"},
		{`{"operation":"login","action":"delay","delay_ms":-1}`, "request body: /delay_ms: number must be at least 0"},
		{`{"operation":"login","action":"close_before_acting","probability":1.5}`, "request body: /probability: number must be at most 1"},
		{`{"operation":"login","username":"bob@example.com","action":"close_before_acting"}`, "request body: /username: UPN-style user names"},
		{`{"operation":"getSession","session_ids":[],"action":"close_before_acting"}`, "request body: /session_ids: minimum number of items is 1"},
		{`{"operation":"sendMessageToSessions","action":"respond","status":404}`, "request body: /status: sendMessageToSessions does not declare 404; it declares 400, 401, 408, 413, 429, 500, 502, 503, 504"},
		// What the FaultRule of each action says across its fields.
		{`{"operation":"login","action":"respond","status":504,"retry_after_seconds":1}`, "request body: /retry_after_seconds: goes with status 429 or 503 only, whose answers declare Retry-After"},
		{`{"operation":"listSessions","session_ids":["a"],"action":"close_before_acting"}`, "request body: /session_ids: goes with operations getSession and sendMessageToSessions only, whose requests name sessions"},
		{`{"operation":"logout","username":"bob","action":"delay","delay_ms":1}`, "request body: /username: goes with operation login only, whose requests carry a user name"},
		{`{"operation":"login","action":"close_after_acting","delay_max_ms":5}`, "request body: /delay_max_ms: goes with delay_ms, the low end of the range"},
		{`{"operation":"login","action":"fail_sessions"}`, `request body: /operation: value is not one of the allowed values ["sendMessageToSessions"]`},
		{`{"operation":"sendMessageToSessions","action":"respond"}`, `request body: /status: property "status" is missing`},
		{`{"operation":"login","action":"delay"}`, `request body: /delay_ms: property "delay_ms" is missing`},
		{`{"operation":"login","action":"delay","delay_ms":1,"status":503}`, `request body: /status: property "status" is unsupported; the properties are "action", "delay_max_ms", "delay_ms", "operation", "probability", "seed", "session_ids", "times", "username"; it goes with action respond`},
		{`{"operation":"sendMessageToSessions","action":"fail_sessions","after_acting":true}`, `request body: /after_acting: property "after_acting" is unsupported; the properties are`},
		{`{"operation":"sendMessageToSessions","action":"respond","status":503,"item_status":500}`, `; it goes with action fail_sessions`},
		{`{"operation":"login","action":"close_before_acting","error_key":"k"}`, `request body: /error_key: property "error_key" is unsupported; the properties are "action", "delay_max_ms", "delay_ms", "operation", "probability", "seed", "session_ids", "times", "username"; it goes with action fail_sessions or respond`},
		{`{"operation":"login","action":"explode"}`, `request body: /action: unknown action "explode"; want one of close_after_acting, close_before_acting, delay, fail_sessions, respond`},
		{`{"operation":"login"}`, `request body: /action: property "action" is missing or not a string; want one of close_after_acting`},
		// What the schema cannot say: the server's own.
		{`{"operation":"login","action":"delay","delay_ms":10,"delay_max_ms":5}`, "request body: /delay_max_ms: 5 is below delay_ms 10"},
	}
	ts := newTestServer(t, server.Config{})
	for _, tt := range tests {
		wantError(t, ts.do(t, ts.request(t, http.MethodPost, faultsPath, "Bearer "+testToken, tt.rule)), http.StatusBadRequest, tt.want)
	}
	if got := decodeStrict[model.Faults](t, ts.do(t, ts.request(t, http.MethodGet, faultsPath, "Bearer "+testToken, "")).body); len(got.Faults) != 0 {
		t.Errorf("refused rules were added: %+v", got.Faults)
	}
}

// The spec's FaultRule allows session_ids, username and fail_sessions on
// exactly the operations whose requests the server reads them from: a rule
// the schema takes always has something to match.
func TestFaultRulesFitWhatRequestsCarry(t *testing.T) {
	t.Parallel()
	schema := spectest.Load(t).Doc().Components.Schemas["FaultRule"].Value
	valid := func(rule string) bool {
		var v any
		if err := json.Unmarshal([]byte(rule), &v); err != nil {
			t.Fatal(err)
		}
		return schema.VisitJSON(v) == nil
	}
	inputs := server.FaultInputs()
	if diff := cmp.Diff(faultOperations(t), slices.Sorted(maps.Keys(inputs)), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Fatalf("operations, spec (-) and server (+):\n%s", diff)
	}
	for op, in := range inputs {
		for i, rule := range []string{
			fmt.Sprintf(`{"operation":%q,"action":"close_before_acting","session_ids":["a"]}`, op),
			fmt.Sprintf(`{"operation":%q,"action":"close_before_acting","username":"a"}`, op),
			fmt.Sprintf(`{"operation":%q,"action":"fail_sessions"}`, op),
		} {
			if got := valid(rule); got != in[i] {
				t.Errorf("%s: the spec takes it: %v; the server reads what it needs from %s's requests: %v", rule, got, op, in[i])
			}
		}
	}
}

// Every status a rule may answer, for every operation it may name, is an
// answer the spec declares for that operation, with the rule's error body
// and Retry-After; ts.do holds each against the spec.
func TestFaultAnswersEveryDeclaredStatus(t *testing.T) {
	t.Parallel()
	for _, op := range faultOperations(t) {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, server.Config{})
			statuses := errorStatuses(t, op)
			for _, status := range slices.Sorted(maps.Keys(statuses)) {
				rule := fmt.Sprintf(`{"operation":%q,"action":"respond","status":%d,"times":1}`, op, status)
				if statuses[status] {
					rule = fmt.Sprintf(`{"operation":%q,"action":"respond","status":%d,"retry_after_seconds":7,"error_key":"pod.busy","error_message":"the pod is busy","times":1}`, op, status)
				}
				fault := ts.addFault(t, rule)
				req := ts.acceptedRequest(t, op)
				resp := ts.do(t, req)
				if statuses[status] {
					e := wantError(t, resp, status, "the pod is busy")
					if e.Errors[0].ErrorKey != "pod.busy" || resp.header.Get("Retry-After") != "7" {
						t.Errorf("%d: error_key %q, Retry-After %q", status, e.Errors[0].ErrorKey, resp.header.Get("Retry-After"))
					}
				} else {
					wantError(t, resp, status, "")
					if resp.header.Get("Retry-After") != "" {
						t.Errorf("%d: Retry-After %q, not asked for", status, resp.header.Get("Retry-After"))
					}
				}
				if status == http.StatusUnauthorized && resp.header.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("401 without WWW-Authenticate: Bearer")
				}
				if got := ts.hits(t, fault.ID); got != 1 {
					t.Errorf("%d: hits = %d, want 1", status, got)
				}
			}
			if got := ts.store.Messages(""); len(got) != 0 {
				t.Errorf("answers that did not act delivered %+v", got)
			}
		})
	}
}

func TestFaultAnswerDefaults(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	for status, want := range map[int]struct{ key, message string }{
		429: {"too.many.requests", "too many requests: retry later"},
		500: {"internal.error", "internal server error"},
		502: {"bad.gateway", "bad gateway"},
		503: {"service.unavailable", "service unavailable: retry later"},
		504: {"gateway.timeout", "gateway timeout"},
		401: {"unauthorized", "unauthorized"},
	} {
		ts.addFault(t, fmt.Sprintf(`{"operation":"listSessions","action":"respond","status":%d,"times":1}`, status))
		e := wantError(t, ts.do(t, ts.acceptedRequest(t, "listSessions")), status, want.message)
		if e.ErrorMessage != want.message || e.Errors[0].ErrorKey != want.key {
			t.Errorf("%d: %q %q, want %q %q", status, e.Errors[0].ErrorKey, e.ErrorMessage, want.key, want.message)
		}
	}
}

// A fault meets only requests the server would accept: the token, the
// spec's checks and the handlers' own refusals come first, and refused
// requests do not count.
func TestFaultsNeverWeakenChecks(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	ids := map[string]string{}
	for _, op := range faultOperations(t) {
		ids[op] = ts.addFault(t, fmt.Sprintf(`{"operation":%q,"action":"respond","status":503}`, op)).ID
	}
	auth := "Bearer " + testToken
	refused := []struct {
		name   string
		req    *http.Request
		status int
		want   string
	}{
		{"send without a token", ts.request(t, http.MethodPost, sendPath, "", sendBody(t, "m", "INFO", idConnected)), 401, "missing bearer token"},
		{"send with a bad token", ts.request(t, http.MethodPost, sendPath, "Bearer nope", sendBody(t, "m", "INFO", idConnected)), 401, "token"},
		{"send breaking the spec", ts.request(t, http.MethodPost, sendPath, auth, sendBody(t, "m", "info", idConnected)), 400, "/message_type"},
		{"send not UTF-8", ts.request(t, http.MethodPost, sendPath, auth, "{\"message\":\"\xff\",\"message_type\":\"INFO\",\"session_ids\":[\"a\"]}"), 400, "not valid UTF-8"},
		{"list without a token", ts.request(t, http.MethodGet, sessionsPath, "", ""), 401, "missing bearer token"},
		{"page without size", ts.request(t, http.MethodGet, sessionsPath+"?page=1", auth, ""), 400, `query parameter "page" requires "size"`},
		{"a filter on no field", ts.request(t, http.MethodGet, sessionsPath+`?filter=%7B%22type%22%3A%22Equals%22%2C%22name%22%3A%22pool%22%2C%22value%22%3A%22a%22%7D`, auth, ""), 400, `/name: value is not one of the allowed values`},
		{"one session without a token", ts.request(t, http.MethodGet, sessionsPath+"/"+idConnected, "", ""), 401, "missing bearer token"},
		{"wrong password", ts.request(t, http.MethodPost, loginPath, "", loginBody(t, testUser, "wrong", testDomain)), 401, ""},
		{"UPN user name", ts.request(t, http.MethodPost, loginPath, "", loginBody(t, testUser+"@x", testPassword, testDomain)), 400, "UPN"},
		{"refresh with an unknown token", ts.request(t, http.MethodPost, refreshPath, "", refreshBody("nope")), 400, "unknown refresh token"},
		{"logout with an unknown token", ts.request(t, http.MethodPost, logoutPath, "", refreshBody("nope")), 400, "unknown refresh token"},
	}
	for _, tt := range refused {
		wantError(t, ts.do(t, tt.req), tt.status, tt.want)
	}
	for op, id := range ids {
		if got := ts.hits(t, id); got != 0 {
			t.Errorf("%s: %d refused requests met the fault", op, got)
		}
	}
	if got := ts.store.Messages(""); len(got) != 0 {
		t.Errorf("delivered %+v", got)
	}
	// The same operations, accepted, each meet their fault (one at a time:
	// refresh and logout log in first).
	for op := range ids {
		if resp := ts.do(t, ts.request(t, http.MethodDelete, faultsPath, auth, "")); resp.status != http.StatusNoContent {
			t.Fatalf("clear: %d %s", resp.status, resp.body)
		}
		req := ts.acceptedRequest(t, op)
		id := ts.addFault(t, fmt.Sprintf(`{"operation":%q,"action":"respond","status":503}`, op)).ID
		wantError(t, ts.do(t, req), http.StatusServiceUnavailable, "service unavailable")
		if got := ts.hits(t, id); got != 1 {
			t.Errorf("%s: hits = %d, want 1", op, got)
		}
	}
}

// fail_sessions fails the sessions it names that would have been delivered,
// inside a 200 answer, whether the fast path or the validator accepted the
// body; other ids keep their own outcome.
func TestFaultFailsSessions(t *testing.T) {
	t.Parallel()
	body := sendBody(t, "m", "WARNING", idConnected, idConnected2, idDisconnected, idUnknown, idConnected2, idNoUser)
	want := []outcome{
		{ID: idConnected, StatusCode: 200, Timestamp: fixedNow.UnixMilli()},
		{ID: idConnected2, StatusCode: 504, Timestamp: fixedNow.UnixMilli(), ErrorKey: "agent.timeout"},
		{ID: idDisconnected, StatusCode: 409, Timestamp: fixedNow.UnixMilli(), ErrorKey: "session.not.connected"},
		{ID: idUnknown, StatusCode: 404, Timestamp: fixedNow.UnixMilli(), ErrorKey: "session.not.found"},
		{ID: idConnected2, StatusCode: 409, Timestamp: fixedNow.UnixMilli(), ErrorKey: "session.id.duplicate"},
		{ID: idNoUser, StatusCode: 200, Timestamp: fixedNow.UnixMilli()},
	}
	answers := map[string][]byte{}
	for _, fast := range []bool{true, false} {
		name := map[bool]string{true: "fast path", false: "validator"}[fast]
		store := server.NewMemoryStore(testSessions())
		cfg := server.Config{Token: testToken, Store: store, Now: func() time.Time { return fixedNow }}
		if !fast {
			cfg = server.WithoutFastPath(cfg)
		}
		srv, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		binds := server.CountFastPathBinds(srv)
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		ts := &testServer{Server: hs, store: store}
		rule := ts.addFault(t, `{"operation":"sendMessageToSessions","session_ids":["`+idConnected2+`","`+idDisconnected+`","`+idUnknown+`"],"action":"fail_sessions","item_status":504,"error_key":"agent.timeout","error_message":"The Horizon Agent did not answer in time.","times":1}`)
		resp := ts.send(t, body)
		if resp.status != http.StatusOK {
			t.Fatalf("%s: status %d, body %s", name, resp.status, resp.body)
		}
		items := decodeStrict[[]model.BulkItemResponseInfo](t, resp.body)
		if diff := cmp.Diff(want, outcomes(items)); diff != "" {
			t.Errorf("%s: items (-want +got):\n%s", name, diff)
		}
		if reason := (*items[1].ErrorMessages)[0]; reason != "The Horizon Agent did not answer in time." || (*items[1].Errors)[0].ErrorMessage != reason {
			t.Errorf("%s: reason %q", name, reason)
		}
		var delivered []string
		for _, m := range ts.store.Messages("") {
			delivered = append(delivered, m.SessionID)
			if m.FaultID != nil {
				t.Errorf("%s: delivery to %s marked with fault %s; its answer was given", name, m.SessionID, *m.FaultID)
			}
		}
		if diff := cmp.Diff([]string{idConnected, idNoUser}, delivered); diff != "" {
			t.Errorf("%s: delivered (-want +got):\n%s", name, diff)
		}
		if got := ts.hits(t, rule.ID); got != 1 {
			t.Errorf("%s: hits = %d", name, got)
		}
		if fast != (binds.Load() == 1) {
			t.Errorf("%s: %d binds of the fast path's value", name, binds.Load())
		}
		answers[name] = resp.body
		// Its one time used up, the rule fails no more.
		if again := decodeStrict[[]model.BulkItemResponseInfo](t, ts.send(t, sendBody(t, "m", "INFO", idConnected2)).body); again[0].StatusCode != http.StatusOK {
			t.Errorf("%s: after its times, the rule still fails: %+v", name, again)
		}
	}
	if !bytes.Equal(answers["fast path"], answers["validator"]) {
		t.Errorf("the answers differ:\nfast path: %s\nvalidator: %s", answers["fast path"], answers["validator"])
	}
}

// Without session_ids, fail_sessions fails every session that would have
// been delivered, each with a reason that names it.
func TestFaultFailsEverySession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	ts.addFault(t, `{"operation":"sendMessageToSessions","action":"fail_sessions"}`)
	items := decodeStrict[[]model.BulkItemResponseInfo](t, ts.send(t, sendBody(t, "m", "INFO", idConnected, idPending)).body)
	checkItemReasons(t, items)
	want := []outcome{
		{ID: idConnected, StatusCode: 500, Timestamp: fixedNow.UnixMilli(), ErrorKey: "session.agent.no.answer"},
		{ID: idPending, StatusCode: 409, Timestamp: fixedNow.UnixMilli(), ErrorKey: "session.not.connected"},
	}
	if diff := cmp.Diff(want, outcomes(items)); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if got := ts.store.Messages(""); len(got) != 0 {
		t.Errorf("delivered %+v", got)
	}
}

// Closing the connection before acting delivers nothing; after acting, or
// answering an error after acting, delivers and records the messages, marked
// with the rule, while the client hears nothing of them. The same with the
// fast path and without.
func TestFaultHidesWhatWasDone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule          string
		wantStatus    int // 0: no answer, the connection closed
		wantDelivered bool
	}{
		{`{"operation":"sendMessageToSessions","action":"close_before_acting","times":1}`, 0, false},
		{`{"operation":"sendMessageToSessions","action":"close_after_acting","times":1}`, 0, true},
		{`{"operation":"sendMessageToSessions","action":"respond","status":502,"after_acting":true,"times":1}`, http.StatusBadGateway, true},
		{`{"operation":"sendMessageToSessions","action":"respond","status":504,"times":1}`, http.StatusGatewayTimeout, false},
	}
	for _, tt := range tests {
		for _, fast := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, fast path %v", tt.rule, fast), func(t *testing.T) {
				t.Parallel()
				cfg := server.Config{}
				if !fast {
					cfg = server.WithoutFastPath(cfg)
				}
				ts := newTestServer(t, cfg)
				rule := ts.addFault(t, tt.rule)
				req := ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, sendBody(t, "m", "INFO", idConnected, idDisconnected))
				if tt.wantStatus == 0 {
					resp, err := ts.Client().Do(req)
					if err == nil {
						resp.Body.Close()
						t.Fatalf("answered %d; want the connection closed without an answer", resp.StatusCode)
					}
				} else {
					wantError(t, ts.do(t, req), tt.wantStatus, "")
				}
				want := []model.DeliveredMessage{}
				if tt.wantDelivered {
					want = []model.DeliveredMessage{{
						Sequence: 1, SessionID: idConnected, UserID: ptr(userConnected), Message: "m",
						MessageType: model.DeliveredMessageMessageTypeINFO, Timestamp: fixedNow.UnixMilli(), FaultID: &rule.ID,
					}}
				}
				if diff := cmp.Diff(want, ts.messages(t, "")); diff != "" {
					t.Errorf("record (-want +got):\n%s", diff)
				}
				if got := ts.hits(t, rule.ID); got != 1 {
					t.Errorf("hits = %d", got)
				}
				// The next request, the rule's time used up, is answered.
				if resp := ts.send(t, sendBody(t, "again", "INFO", idConnected)); resp.status != http.StatusOK {
					t.Errorf("next send: %d %s", resp.status, resp.body)
				}
			})
		}
	}
}

// A login that a rule closes after acting is made: its tokens work, though
// the client never received them; other users' logins are not touched.
func TestFaultOnOneUsersLogin(t *testing.T) {
	t.Parallel()
	other := model.ReferenceUser{Username: "auditor", Domain: testDomain, Password: "Other-pa55"}
	ts := newTestServer(t, server.Config{Users: []model.ReferenceUser{{Username: testUser, Domain: testDomain, Password: testPassword}, other}})
	rule := ts.addFault(t, `{"operation":"login","username":"`+strings.ToUpper(testUser)+`","action":"respond","status":503,"retry_after_seconds":1}`)
	resp := ts.do(t, ts.acceptedRequest(t, "login"))
	wantError(t, resp, http.StatusServiceUnavailable, "service unavailable")
	if resp.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", resp.header.Get("Retry-After"))
	}
	if got := ts.do(t, ts.request(t, http.MethodPost, loginPath, "", loginBody(t, other.Username, other.Password, other.Domain))); got.status != http.StatusOK {
		t.Errorf("the other user's login: %d %s", got.status, got.body)
	}
	if got := ts.hits(t, rule.ID); got != 1 {
		t.Errorf("hits = %d, want 1", got)
	}
}

// getSession rules match the session asked for.
func TestFaultOnOneSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	ts.addFault(t, `{"operation":"getSession","session_ids":["`+idConnected2+`"],"action":"respond","status":502}`)
	if resp := ts.do(t, ts.request(t, http.MethodGet, sessionsPath+"/"+idConnected, "Bearer "+testToken, "")); resp.status != http.StatusOK {
		t.Errorf("another session: %d %s", resp.status, resp.body)
	}
	wantError(t, ts.do(t, ts.request(t, http.MethodGet, sessionsPath+"/"+idConnected2, "Bearer "+testToken, "")), http.StatusBadGateway, "bad gateway")
}

// sleeps records the delays a server waits out, without waiting.
type sleeps struct {
	mu  sync.Mutex
	got []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, d)
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// Delays are waited out after acting, before the answer or the closing; a
// random delay is drawn from the rule's seed, the same in every run.
func TestFaultDelays(t *testing.T) {
	t.Parallel()
	run := func() ([]time.Duration, []int) {
		var s sleeps
		ts := newTestServer(t, server.WithFaultSleep(server.Config{}, s.sleep))
		ts.addFault(t, `{"operation":"sendMessageToSessions","action":"delay","delay_ms":100,"delay_max_ms":900,"seed":11,"times":5}`)
		ts.addFault(t, `{"operation":"listSessions","action":"respond","status":504,"delay_ms":30000}`)
		var statuses []int
		for range 6 {
			statuses = append(statuses, ts.send(t, sendBody(t, "m", "INFO", idConnected)).status)
		}
		statuses = append(statuses, ts.do(t, ts.acceptedRequest(t, "listSessions")).status)
		if got := len(ts.store.Messages("")); got != 6 {
			t.Errorf("%d deliveries, want 6: a delay acts as usual", got)
		}
		return s.all(), statuses
	}
	delays, statuses := run()
	if diff := cmp.Diff([]int{200, 200, 200, 200, 200, 200, 504}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if len(delays) != 6 || delays[5] != 30*time.Second {
		t.Fatalf("delays %v: want 5 drawn, then 30s", delays)
	}
	for _, d := range delays[:5] {
		if d < 100*time.Millisecond || d > 900*time.Millisecond || d%time.Millisecond != 0 {
			t.Errorf("delay %s out of 100ms..900ms", d)
		}
	}
	if slices.Equal(delays[:5], slices.Repeat(delays[:1], 5)) {
		t.Errorf("five equal delays %v: not drawn", delays[:5])
	}
	again, _ := run()
	if diff := cmp.Diff(delays, again); diff != "" {
		t.Errorf("the same seed drew other delays (-first +second):\n%s", diff)
	}
}

// A delay ends when the client gives up waiting: the server does not hold
// the request for the rule's ten minutes. What was done before the delay
// stays done.
func TestFaultDelayEndsWhenTheClientLeaves(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	ts.addFault(t, `{"operation":"sendMessageToSessions","action":"delay","delay_ms":600000}`)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req := ts.request(t, http.MethodPost, sendPath, "Bearer "+testToken, sendBody(t, "m", "INFO", idConnected)).WithContext(ctx)
	resp, err := ts.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d within the client's 100ms", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the client's deadline", err)
	}
	closed := make(chan struct{})
	go func() {
		ts.Close() // waits for the requests in flight
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the request still holds the server 10s after its client left")
	}
	if got := ts.store.Messages(""); len(got) != 1 || got[0].FaultID != nil {
		t.Errorf("record %+v, want the one delivery, unmarked", got)
	}
}

// A seeded probability meets the same requests in every run.
func TestFaultProbabilityIsRepeatable(t *testing.T) {
	t.Parallel()
	run := func() string {
		ts := newTestServer(t, server.Config{})
		ts.addFault(t, `{"operation":"sendMessageToSessions","action":"respond","status":503,"probability":0.5,"seed":2024}`)
		var b strings.Builder
		for range 24 {
			fmt.Fprintf(&b, "%d ", ts.send(t, sendBody(t, "m", "INFO", idConnected)).status)
		}
		return b.String()
	}
	first := run()
	if got := run(); got != first {
		t.Errorf("two runs differ:\n%s\n%s", first, got)
	}
	if !strings.Contains(first, "200") || !strings.Contains(first, "503") {
		t.Errorf("statuses %s: want both", first)
	}
}

// Rules of Config.Faults are in force from the start, with the ids 1, 2...;
// one its operation does not allow stops New, saying which and where.
func TestFaultRulesFromConfig(t *testing.T) {
	t.Parallel()
	status := int32(503)
	ts := newTestServer(t, server.Config{Faults: []model.FaultRule{
		refservertest.Rule(model.CloseBeforeActingFaultRule{Operation: model.FaultOperationListSessions, Times: ptr(int32(1))}),
		refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationSendMessageToSessions, Status: status}),
	}})
	wantError(t, ts.send(t, sendBody(t, "m", "INFO", idConnected)), http.StatusServiceUnavailable, "")
	if got := ts.hits(t, "2"); got != 1 {
		t.Errorf("hits of rule 2 = %d", got)
	}

	// Rules given in Go meet the spec's schema, as a data file's do.
	user := "bob"
	for _, tt := range []struct {
		rule             model.FaultRule
		pointer, message string
	}{
		{refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationSendMessageToSessions, Status: 404}), "/status", "does not declare 404"},
		{refservertest.Rule(model.CloseBeforeActingFaultRule{Operation: model.FaultOperationLogout, Username: &user}), "/username", "goes with operation login only"},
		{refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationLogin, Status: 200}), "/status", "number must be at least 400"},
	} {
		_, err := server.New(server.Config{Token: testToken, Faults: []model.FaultRule{
			refservertest.Rule(model.CloseBeforeActingFaultRule{Operation: model.FaultOperationLogin}), tt.rule,
		}})
		var ruleErr *server.FaultRuleError
		if !errors.As(err, &ruleErr) || ruleErr.Index != 1 || ruleErr.Pointer != tt.pointer || !strings.Contains(ruleErr.Reason, tt.message) {
			t.Errorf("New = %v, want rule 1's %s refused: %s", err, tt.pointer, tt.message)
		}
	}
}

// A fault that acts is logged, with the rule, the operation and the request.
func TestFaultIsLogged(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	ts := newTestServer(t, server.Config{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	ts.addFault(t, `{"operation":"getSession","action":"respond","status":503}`)
	req := ts.request(t, http.MethodGet, sessionsPath+"/"+idConnected, "Bearer "+testToken, "")
	req.Header.Set("X-Request-Id", "req-fault-1")
	ts.do(t, req)
	var found bool
	for _, line := range logLines(t, log.String()) {
		if line["msg"] == "fault" {
			found = true
			want := map[string]any{"fault_id": "1", "operation": "getSession", "action": "respond", "request_id": "req-fault-1"}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("log %s = %v, want %v", k, line[k], v)
				}
			}
		}
	}
	if !found {
		t.Errorf("no fault line in the log:\n%s", log.String())
	}
}
