package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// outcome is what a test expects of one result item: the reason's text is
// checked separately.
type outcome struct {
	ID         string
	StatusCode int32
	Timestamp  int64
	ErrorKey   string
}

func outcomes(items []model.BulkItemResponseInfo) []outcome {
	out := make([]outcome, len(items))
	for i, item := range items {
		out[i] = outcome{ID: item.ID, StatusCode: item.StatusCode, Timestamp: item.Timestamp}
		if item.Errors != nil && len(*item.Errors) > 0 {
			out[i].ErrorKey = (*item.Errors)[0].ErrorKey
		}
	}
	return out
}

// checkItemReasons fails t unless every failed item gives its reason in both
// forms with the same text, and every delivered item gives none.
func checkItemReasons(t *testing.T, items []model.BulkItemResponseInfo) {
	t.Helper()
	for i, item := range items {
		if item.StatusCode == http.StatusOK {
			if item.ErrorMessages != nil || item.Errors != nil {
				t.Errorf("item %d delivered, yet carries reasons: %v %v", i, item.ErrorMessages, item.Errors)
			}
			continue
		}
		if item.ErrorMessages == nil || item.Errors == nil {
			t.Errorf("item %d (status %d) lacks error_messages or errors", i, item.StatusCode)
			continue
		}
		msgs, errs := *item.ErrorMessages, *item.Errors
		if len(msgs) != 1 || len(errs) != 1 {
			t.Errorf("item %d: want one reason in each form, got %q and %+v", i, msgs, errs)
			continue
		}
		if msgs[0] != errs[0].ErrorMessage || msgs[0] == "" {
			t.Errorf("item %d: error_messages %q and errors %q differ", i, msgs[0], errs[0].ErrorMessage)
		}
		if !strings.Contains(msgs[0], item.ID) {
			t.Errorf("item %d: reason %q does not name the id %q", i, msgs[0], item.ID)
		}
	}
}

func TestSendMessageResults(t *testing.T) {
	t.Parallel()
	ts := fixedNow.UnixMilli()
	delivered := func(id string) outcome { return outcome{ID: id, StatusCode: 200, Timestamp: ts} }
	failed := func(id string, status int32, key string) outcome {
		return outcome{ID: id, StatusCode: status, Timestamp: ts, ErrorKey: key}
	}
	users := map[string]*string{idConnected: ptr(userConnected), idConnected2: ptr(userConnected2), idNoUser: nil}

	tests := []struct {
		name          string
		ids           []string
		want          []outcome
		wantDelivered []string
	}{
		{"delivered", []string{idConnected}, []outcome{delivered(idConnected)}, []string{idConnected}},
		{"connected without user", []string{idNoUser}, []outcome{delivered(idNoUser)}, []string{idNoUser}},
		{"unknown", []string{idUnknown}, []outcome{failed(idUnknown, 404, "session.not.found")}, nil},
		{"disconnected", []string{idDisconnected}, []outcome{failed(idDisconnected, 409, "session.not.connected")}, nil},
		{"pending", []string{idPending}, []outcome{failed(idPending, 409, "session.not.connected")}, nil},
		{
			"duplicates act once, at the first occurrence",
			[]string{idConnected, idConnected2, idConnected, idConnected},
			[]outcome{
				delivered(idConnected), delivered(idConnected2),
				failed(idConnected, 409, "session.id.duplicate"), failed(idConnected, 409, "session.id.duplicate"),
			},
			[]string{idConnected, idConnected2},
		},
		{
			"duplicate of an unknown id",
			[]string{idUnknown, idUnknown},
			[]outcome{failed(idUnknown, 404, "session.not.found"), failed(idUnknown, 409, "session.id.duplicate")},
			nil,
		},
		{
			"duplicate of a disconnected id",
			[]string{idDisconnected, idDisconnected},
			[]outcome{failed(idDisconnected, 409, "session.not.connected"), failed(idDisconnected, 409, "session.id.duplicate")},
			nil,
		},
		{
			"request order kept",
			[]string{idPending, idUnknown, idConnected2, idDisconnected, idConnected, idNoUser},
			[]outcome{
				failed(idPending, 409, "session.not.connected"),
				failed(idUnknown, 404, "session.not.found"),
				delivered(idConnected2),
				failed(idDisconnected, 409, "session.not.connected"),
				delivered(idConnected),
				delivered(idNoUser),
			},
			[]string{idConnected2, idConnected, idNoUser},
		},
		{
			"ids are matched exactly",
			[]string{strings.ToUpper(idConnected) + "X", " " + idConnected},
			[]outcome{
				failed(strings.ToUpper(idConnected)+"X", 404, "session.not.found"),
				failed(" "+idConnected, 404, "session.not.found"),
			},
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{})
			resp := srv.send(t, sendBody(t, "Maintenance at 18:00", "WARNING", tt.ids...))
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
			}
			items := decodeStrict[[]model.BulkItemResponseInfo](t, resp.body)
			if diff := cmp.Diff(tt.want, outcomes(items)); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
			checkItemReasons(t, items)

			want := []model.DeliveredMessage{}
			for i, id := range tt.wantDelivered {
				want = append(want, model.DeliveredMessage{
					Sequence:    int64(i + 1),
					SessionID:   id,
					UserID:      users[id],
					Message:     "Maintenance at 18:00",
					MessageType: model.DeliveredMessageMessageTypeWARNING,
					Timestamp:   fixedNow.UnixMilli(),
				})
			}
			if diff := cmp.Diff(want, srv.messages(t, "")); diff != "" {
				t.Errorf("GET messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, srv.store.Messages("")); diff != "" {
				t.Errorf("store record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendMessageSeedExampleOnDemoData(t *testing.T) {
	t.Parallel()
	srv := startServer(t, server.Config{Token: testToken})
	body := `{"message":"Sample Info Message","message_type":"INFO","session_ids":["7cdd624f-37d1-46c1-ab96-695a5d13956f"]}`
	resp := srv.send(t, body)
	if resp.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
	}
	items := decodeStrict[[]model.BulkItemResponseInfo](t, resp.body)
	if len(items) != 1 || items[0].ID != seedSessionID || items[0].StatusCode != http.StatusOK {
		t.Errorf("items = %+v, want one delivered item for the seed session", items)
	}
	got := srv.messages(t, "?session_id="+seedSessionID)
	if len(got) != 1 || got[0].Message != "Sample Info Message" || got[0].UserID == nil {
		t.Errorf("recorded = %+v, want the sample message with the session's user", got)
	}
}

func TestSendMessageMessageTypes(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"ERROR", "WARNING", "INFO"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{})
			if resp := srv.send(t, sendBody(t, "m", typ, idConnected)); resp.status != http.StatusOK {
				t.Fatalf("status = %d; body %s", resp.status, resp.body)
			}
			got := srv.messages(t, "")
			if len(got) != 1 || string(got[0].MessageType) != typ {
				t.Errorf("recorded %+v, want one %s message", got, typ)
			}
		})
	}
}

// The validator reads member names exactly; encoding/json would match a
// differently cased duplicate too, and the last one would win.
func TestSendMessageActsOnExactlyNamedMembers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"upper-case duplicate after", `{"message":"real","message_type":"INFO","MESSAGE_TYPE":"DEBUG","session_ids":["` + idConnected + `"]}`},
		{"upper-case duplicate before", `{"MESSAGE_TYPE":"DEBUG","message_type":"INFO","message":"real","session_ids":["` + idConnected + `"]}`},
		{"mixed-case message and type", `{"message":"real","Message":"shadow","message_type":"INFO","Message_Type":"ERROR","session_ids":["` + idConnected + `"]}`},
		{"mixed-case ids", `{"message":"real","message_type":"INFO","session_ids":["` + idConnected + `"],"Session_Ids":["` + idConnected2 + `"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{})
			resp := srv.send(t, tt.body)
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
			}
			want := []model.DeliveredMessage{{
				Sequence: 1, SessionID: idConnected, UserID: ptr(userConnected), Message: "real",
				MessageType: model.DeliveredMessageMessageTypeINFO, Timestamp: fixedNow.UnixMilli(),
			}}
			if diff := cmp.Diff(want, srv.messages(t, "")); diff != "" {
				t.Errorf("recorded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendMessageBadRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		body        string
		contentType string
		want        string
	}{
		{"lower-case type", `{"message":"m","message_type":"info","session_ids":["a"]}`, "", "/message_type: value is not one of the allowed values"},
		{"unknown type", `{"message":"m","message_type":"DEBUG","session_ids":["a"]}`, "", "/message_type: value is not one of the allowed values"},
		{"missing message", `{"message_type":"INFO","session_ids":["a"]}`, "", `/message: property "message" is missing`},
		{"empty message", `{"message":"","message_type":"INFO","session_ids":["a"]}`, "", "/message: minimum string length is 1"},
		{"missing type", `{"message":"m","session_ids":["a"]}`, "", `/message_type: property "message_type" is missing`},
		{"missing ids", `{"message":"m","message_type":"INFO"}`, "", `/session_ids: property "session_ids" is missing`},
		{"no ids", `{"message":"m","message_type":"INFO","session_ids":[]}`, "", "/session_ids: minimum number of items is 1"},
		{"id not a string", `{"message":"m","message_type":"INFO","session_ids":[7]}`, "", "/session_ids/0: value must be a string"},
		{"ids not an array", `{"message":"m","message_type":"INFO","session_ids":"a"}`, "", "/session_ids: value must be an array"},
		{"null body", `null`, "", "request body"},
		{"not JSON", `message=m`, "", "request body"},
		{"wrong content type", `{"message":"m","message_type":"INFO","session_ids":["a"]}`, "text/plain", "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{})
			req := srv.request(t, http.MethodPost, sendPath, "Bearer "+testToken, tt.body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			wantError(t, srv.do(t, req), http.StatusBadRequest, tt.want)
			if got := srv.store.Messages(""); len(got) != 0 {
				t.Errorf("a refused request recorded %+v", got)
			}
		})
	}
}

func TestSendMessageWithoutBody(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	req := srv.request(t, http.MethodPost, sendPath, "Bearer "+testToken, "")
	req.Header.Set("Content-Type", "application/json")
	wantError(t, srv.do(t, req), http.StatusBadRequest, "request body")
}

func TestDeliveredMessagesInspection(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	for _, body := range []string{
		sendBody(t, "first", "INFO", idConnected, idUnknown, idConnected2),
		sendBody(t, "second", "ERROR", idDisconnected, idConnected),
	} {
		if resp := srv.send(t, body); resp.status != http.StatusOK {
			t.Fatalf("send: status %d; body %s", resp.status, resp.body)
		}
	}
	msg := func(seq int64, id string, user *string, text string, typ model.DeliveredMessageMessageType) model.DeliveredMessage {
		return model.DeliveredMessage{Sequence: seq, SessionID: id, UserID: user, Message: text, MessageType: typ, Timestamp: fixedNow.UnixMilli()}
	}
	all := []model.DeliveredMessage{
		msg(1, idConnected, ptr(userConnected), "first", model.DeliveredMessageMessageTypeINFO),
		msg(2, idConnected2, ptr(userConnected2), "first", model.DeliveredMessageMessageTypeINFO),
		msg(3, idConnected, ptr(userConnected), "second", model.DeliveredMessageMessageTypeERROR),
	}
	tests := []struct {
		name  string
		query string
		want  []model.DeliveredMessage
	}{
		{"all", "", all},
		{"one session", "?session_id=" + idConnected, []model.DeliveredMessage{all[0], all[2]}},
		{"other session", "?session_id=" + idConnected2, []model.DeliveredMessage{all[1]}},
		{"session never delivered to", "?session_id=" + idDisconnected, []model.DeliveredMessage{}},
		{"unknown session", "?session_id=" + idUnknown, []model.DeliveredMessage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := srv.do(t, srv.request(t, http.MethodGet, messagesPath+tt.query, "Bearer "+testToken, ""))
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d; body %s", resp.status, resp.body)
			}
			// An empty list is [], never null.
			if len(tt.want) == 0 && !strings.Contains(string(resp.body), `"messages":[]`) {
				t.Errorf("body = %s, want an empty messages array", resp.body)
			}
			got := decodeStrict[model.DeliveredMessages](t, resp.body).Messages
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// The record New makes from Config keeps the newest MaxRecordedMessages
// deliveries and says how many it evicted.
func TestDeliveredMessagesEvicted(t *testing.T) {
	t.Parallel()
	srv := startServer(t, server.Config{
		Token:               testToken,
		Sessions:            testSessions(),
		MaxRecordedMessages: 2,
		Now:                 func() time.Time { return fixedNow },
	})
	for _, body := range []string{
		sendBody(t, "first", "INFO", idConnected),
		sendBody(t, "second", "INFO", idConnected2, idConnected),
		sendBody(t, "third", "INFO", idConnected2),
	} {
		if resp := srv.send(t, body); resp.status != http.StatusOK {
			t.Fatalf("send: status %d; body %s", resp.status, resp.body)
		}
	}
	list := func(query string) model.DeliveredMessages {
		t.Helper()
		resp := srv.do(t, srv.request(t, http.MethodGet, messagesPath+query, "Bearer "+testToken, ""))
		if resp.status != http.StatusOK {
			t.Fatalf("GET messages%s: status %d; body %s", query, resp.status, resp.body)
		}
		return decodeStrict[model.DeliveredMessages](t, resp.body)
	}
	summary := func(d model.DeliveredMessages) string {
		var parts []string
		for _, m := range d.Messages {
			parts = append(parts, fmt.Sprintf("%d:%s:%s", m.Sequence, m.SessionID[len(m.SessionID)-1:], m.Message))
		}
		return fmt.Sprintf("%v evicted=%d", parts, d.Evicted)
	}
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"all", "", "[3:1:second 4:2:third] evicted=2"},
		{"filter counts evictions of every session", "?session_id=" + idConnected2, "[4:2:third] evicted=2"},
		{"filter with nothing kept", "?session_id=" + idUnknown, "[] evicted=2"},
	}
	for _, tt := range tests {
		if got := summary(list(tt.query)); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}

	if resp := srv.do(t, srv.request(t, http.MethodDelete, messagesPath, "Bearer "+testToken, "")); resp.status != http.StatusNoContent {
		t.Fatalf("DELETE: status %d", resp.status)
	}
	if got, want := summary(list("")), "[] evicted=2"; got != want {
		t.Errorf("after clear: %s, want %s", got, want)
	}
	if resp := srv.send(t, sendBody(t, "fourth", "INFO", idConnected)); resp.status != http.StatusOK {
		t.Fatalf("send: status %d", resp.status)
	}
	if got, want := summary(list("")), "[5:1:fourth] evicted=2"; got != want {
		t.Errorf("after clear and send: %s, want %s", got, want)
	}
}

func TestDeliveredMessagesBadFilter(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	resp := srv.do(t, srv.request(t, http.MethodGet, messagesPath+"?session_id=", "Bearer "+testToken, ""))
	wantError(t, resp, http.StatusBadRequest, "session_id")
}

func TestClearDeliveredMessages(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	if resp := srv.send(t, sendBody(t, "before", "INFO", idConnected, idConnected2)); resp.status != http.StatusOK {
		t.Fatalf("send: status %d", resp.status)
	}
	resp := srv.do(t, srv.request(t, http.MethodDelete, messagesPath, "Bearer "+testToken, ""))
	if resp.status != http.StatusNoContent || len(resp.body) != 0 {
		t.Fatalf("DELETE: status %d body %q, want 204 and no body", resp.status, resp.body)
	}
	if got := srv.messages(t, ""); len(got) != 0 {
		t.Errorf("after DELETE: %+v, want none", got)
	}
	if resp := srv.send(t, sendBody(t, "after", "INFO", idConnected)); resp.status != http.StatusOK {
		t.Fatalf("send: status %d", resp.status)
	}
	want := []model.DeliveredMessage{{
		Sequence: 3, SessionID: idConnected, UserID: ptr(userConnected), Message: "after",
		MessageType: model.DeliveredMessageMessageTypeINFO, Timestamp: fixedNow.UnixMilli(),
	}}
	if diff := cmp.Diff(want, srv.messages(t, "")); diff != "" {
		t.Errorf("after clear and send, sequence must go on (-want +got):\n%s", diff)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	fastPathOn := model.FastPathStatus{Active: true}
	offByConfig := "turned off by the server's configuration"
	demo, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		cfg           server.Config
		authorization string
		want          model.Health
	}{
		// The shipped spec must compile into the fast path: a change of the
		// spec that turns it off fails here, not silently in production.
		{"no token", server.Config{}, "", model.Health{Status: model.HealthStatusOk, Sessions: len(testSessions()), FastPath: fastPathOn}},
		{"wrong token is ignored", server.Config{}, "Bearer wrong", model.Health{Status: model.HealthStatusOk, Sessions: len(testSessions()), FastPath: fastPathOn}},
		{"empty inventory", server.Config{Store: server.NewMemoryStore(nil)}, "", model.Health{Status: model.HealthStatusOk, Sessions: 0, FastPath: fastPathOn}},
		{"demo inventory", server.Config{Store: server.NewMemoryStore(demo)}, "", model.Health{Status: model.HealthStatusOk, Sessions: len(demo), FastPath: fastPathOn}},
		{"fast path off", server.WithoutFastPath(server.Config{}), "", model.Health{Status: model.HealthStatusOk, Sessions: len(testSessions()),
			FastPath: model.FastPathStatus{Active: false, Reason: &offByConfig}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, tt.cfg)
			resp := srv.do(t, srv.request(t, http.MethodGet, healthPath, tt.authorization, ""))
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d; body %s", resp.status, resp.body)
			}
			if diff := cmp.Diff(tt.want, decodeStrict[model.Health](t, resp.body)); diff != "" {
				t.Errorf("health (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthenticationRefused(t *testing.T) {
	t.Parallel()
	const wrongToken = "wrong-token-0c9e7a"
	headers := []struct {
		name          string
		authorization string
		want          string
	}{
		{"no header", "", "missing bearer token"},
		{"basic scheme", "Basic x", "malformed Authorization header"},
		{"bearer without token", "Bearer ", "malformed Authorization header"},
		{"bearer with blanks", "Bearer    ", "malformed Authorization header"},
		{"scheme only", "Bearer", "malformed Authorization header"},
		{"token without scheme", testToken, "malformed Authorization header"},
		{"wrong token", "Bearer " + wrongToken, "invalid bearer token"},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1], "invalid bearer token"},
		{"token with suffix", "Bearer " + testToken + "x", "invalid bearer token"},
		{"token in other case", "Bearer " + strings.ToUpper(testToken), "invalid bearer token"},
	}
	operations := []struct {
		method, path, body string
	}{
		{http.MethodPost, sendPath, sendBody(t, "m", "INFO", idConnected)},
		{http.MethodGet, messagesPath, ""},
		{http.MethodDelete, messagesPath, ""},
		{http.MethodGet, sessionsPath, ""},
		{http.MethodGet, sessionsPath + "/" + idConnected, ""},
	}
	for _, h := range headers {
		for _, op := range operations {
			t.Run(h.name+"/"+op.method+" "+op.path, func(t *testing.T) {
				t.Parallel()
				srv := newTestServer(t, server.Config{})
				srv.store.Record([]model.DeliveredMessage{delivery(idConnected, "kept")})
				resp := srv.do(t, srv.request(t, op.method, op.path, h.authorization, op.body))
				wantError(t, resp, http.StatusUnauthorized, h.want)
				if got := resp.header.Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate = %q, want Bearer", got)
				}
				for _, secret := range []string{testToken, wrongToken} {
					if strings.Contains(string(resp.body), secret) {
						t.Errorf("401 body echoes a token: %s", resp.body)
					}
				}
				// Refused requests change nothing.
				if got := srv.store.Messages(""); len(got) != 1 || got[0].Message != "kept" {
					t.Errorf("record after a refused request = %+v", got)
				}
			})
		}
	}
}

func TestAuthenticationSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{})
			req := srv.request(t, http.MethodPost, sendPath, scheme+" "+testToken, sendBody(t, "m", "INFO", idConnected))
			if resp := srv.do(t, req); resp.status != http.StatusOK {
				t.Errorf("status = %d, want 200; body %s", resp.status, resp.body)
			}
		})
	}
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		method, path string
		wantStatus   int
	}{
		{"unknown path under the base", http.MethodGet, server.BasePath + "/inventory/v1/machines", http.StatusNotFound},
		{"POST on sessions", http.MethodPost, server.BasePath + "/inventory/v1/sessions", http.StatusMethodNotAllowed},
		{"GET on login", http.MethodGet, server.BasePath + "/login", http.StatusMethodNotAllowed},
		{"unknown action", http.MethodPost, server.BasePath + "/inventory/v1/sessions/action/disconnect", http.StatusNotFound},
		{"the base itself", http.MethodGet, server.BasePath, http.StatusNotFound},
		{"outside the base", http.MethodGet, "/inventory/v1/sessions/action/send-message", http.StatusNotFound},
		{"below the root", http.MethodGet, "/rest-of-it", http.StatusNotFound},
		{"POST on the root, which leads to the docs page", http.MethodPost, "/", http.StatusMethodNotAllowed},
		{"GET on send-message", http.MethodGet, sendPath, http.StatusMethodNotAllowed},
		{"PUT on send-message", http.MethodPut, sendPath, http.StatusMethodNotAllowed},
		{"PUT on messages", http.MethodPut, messagesPath, http.StatusMethodNotAllowed},
		{"POST on health", http.MethodPost, healthPath, http.StatusMethodNotAllowed},
		{"DELETE on one session", http.MethodDelete, sessionsPath + "/" + idConnected, http.StatusMethodNotAllowed},
		{"POST on the action folder, as a session id", http.MethodPost, sessionsPath + "/action", http.StatusMethodNotAllowed},
		{"below one session", http.MethodGet, sessionsPath + "/" + idConnected + "/x", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{})
			resp := srv.do(t, srv.request(t, tt.method, tt.path, "Bearer "+testToken, ""))
			e := wantError(t, resp, tt.wantStatus, "")
			wantKey := map[int]string{http.StatusNotFound: "not.found", http.StatusMethodNotAllowed: "method.not.allowed"}[tt.wantStatus]
			if e.Errors[0].ErrorKey != wantKey {
				t.Errorf("error_key = %q, want %q", e.Errors[0].ErrorKey, wantKey)
			}
		})
	}
}

// Every method the spec does not have for one of its paths gets 405, with
// an Allow header that lists the methods it has.
func TestMethodNotAllowedListsTheSpecsMethods(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	candidates := []string{
		http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace, "PROPFIND", "BREW",
	}
	checked := 0
	for path, item := range spectest.Load(t).Doc().Paths.Map() {
		ops := item.Operations()
		var have []string
		for method := range ops {
			have = append(have, method)
		}
		slices.Sort(have)
		wantAllow := strings.Join(have, ", ")
		for _, method := range candidates {
			if ops[method] != nil {
				continue
			}
			checked++
			t.Run(method+" "+path, func(t *testing.T) {
				t.Parallel()
				resp := srv.do(t, srv.request(t, method, specTarget(t, path, item), "Bearer "+testToken, ""))
				if resp.status != http.StatusMethodNotAllowed {
					t.Fatalf("status = %d, want 405; body %s", resp.status, resp.body)
				}
				if got := resp.header.Get("Allow"); got != wantAllow {
					t.Errorf("Allow = %q, want %q", got, wantAllow)
				}
				if method == http.MethodHead {
					return
				}
				e := wantError(t, resp, http.StatusMethodNotAllowed, "method "+method+" not allowed: use "+wantAllow)
				if e.Errors[0].ErrorKey != "method.not.allowed" {
					t.Errorf("error_key = %q, want method.not.allowed", e.Errors[0].ErrorKey)
				}
			})
		}
	}
	if checked == 0 {
		t.Fatal("the spec gave no method to refuse")
	}
}
