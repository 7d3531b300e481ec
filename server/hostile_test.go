package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// TestHostileBodies sends the bodies a broken or hostile client might. Each
// gets a 4xx that names the problem, never a 5xx, or is served as documented;
// only what was answered 200 is recorded.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	maxLength, maxItems := specLimits(t)
	// request is a send-message body around message, written by hand so that
	// it can carry bytes json.Marshal would replace.
	request := func(message string) string {
		return `{"message":"` + message + `","message_type":"INFO","session_ids":["` + idConnected + `"]}`
	}
	valid := request("real")
	deep := func(open, inner, closing string, depth int) string {
		return repeat(open, depth) + inner + repeat(closing, depth)
	}
	manyIDs := `{"message":"m","message_type":"INFO","session_ids":[` + strings.TrimSuffix(repeat(`"a",`, 500000), ",") + `]}`
	const text = "Wartung um 18 Uhr — bitte speichern ☕ 🚀 日本語"

	tests := []struct {
		name        string
		limits      server.Limits
		contentType string
		body        string
		wantStatus  int
		// want is part of error_message for an error, else the one message
		// recorded for idConnected.
		want string
	}{
		{"body over the limit", server.Limits{MaxBodyBytes: 512}, "", request(repeat("x", 600)), 413, "request body is larger than 512 bytes"},
		{"body far over the limit, all blanks", server.Limits{}, "", repeat(" ", 5<<20) + valid, 413, fmt.Sprintf("request body is larger than %d bytes", server.DefaultMaxBodyBytes)},
		{"half a million ids", server.Limits{MaxBodyBytes: 4 << 20}, "", manyIDs, 400, fmt.Sprintf("/session_ids: maximum number of items is %d", maxItems)},
		{"a million-character message", server.Limits{}, "", request(repeat("x", 1000000)), 400, fmt.Sprintf("/message: maximum string length is %d", maxLength)},

		{"invalid byte in the message", server.Limits{}, "", request("caf\xff"), 400, "not valid UTF-8 at byte 15"},
		{"Latin-1 text", server.Limits{}, "application/json; charset=ISO-8859-1", request("caf\xe9"), 400, "not valid UTF-8 at byte 15"},
		{"overlong encoding", server.Limits{}, "", request("\xc0\xaf"), 400, "not valid UTF-8 at byte 12"},
		{"UTF-16 surrogate encoded in UTF-8", server.Limits{}, "", request("\xed\xa0\x80"), 400, "not valid UTF-8 at byte 12"},
		{"truncated sequence in a session id", server.Limits{}, "", "{\"message\":\"m\",\"message_type\":\"INFO\",\"session_ids\":[\"\xe2\x82\"]}", 400, "not valid UTF-8 at byte 53"},
		{"invalid byte in an unknown member name", server.Limits{}, "", "{\"x\xff\":1," + valid[1:], 400, "not valid UTF-8 at byte 3"},
		{"UTF-16 body", server.Limits{}, "", "\xff\xfe{\x00}\x00", 400, "request body"},
		{"multi-byte UTF-8 is delivered as sent", server.Limits{}, "", request(text), 200, text},

		{"100000 nested arrays", server.Limits{}, "", deep("[", "", "]", 100000), 400, "exceeded max depth"},
		{"100000 nested objects", server.Limits{}, "", deep(`{"a":`, "1", "}", 100000), 400, "exceeded max depth"},
		{"100000 nested arrays as the ids", server.Limits{}, "", `{"message":"m","message_type":"INFO","session_ids":` + nested(100000) + `}`, 400, "exceeded max depth"},
		{"a million unclosed brackets", server.Limits{}, "", repeat("[", 1000000), 400, "exceeded max depth"},
		{"nested arrays as the ids, within the decoder's depth", server.Limits{}, "", `{"message":"m","message_type":"INFO","session_ids":` + nested(5000) + `}`, 400, "/session_ids/0: value must be a string"},

		{"duplicate message: the last wins", server.Limits{}, "", `{"message":"first","message":"real","message_type":"INFO","session_ids":["` + idConnected + `"]}`, 200, "real"},
		{"duplicate type, valid last: the last wins", server.Limits{}, "", `{"message":"real","message_type":"DEBUG","message_type":"INFO","session_ids":["` + idConnected + `"]}`, 200, "real"},
		{"duplicate type, invalid last: the last wins", server.Limits{}, "", `{"message":"real","message_type":"INFO","message_type":"DEBUG","session_ids":["` + idConnected + `"]}`, 400, "/message_type: value is not one of the allowed values"},
		{"duplicate message, too long first: the last wins", server.Limits{}, "", `{"message":"` + repeat("x", maxLength+1) + `","message":"real","message_type":"INFO","session_ids":["` + idConnected + `"]}`, 200, "real"},
		{"duplicate ids: the last wins", server.Limits{}, "", `{"message":"real","message_type":"INFO","session_ids":["` + idConnected2 + `"],"session_ids":["` + idConnected + `"]}`, 200, "real"},

		{"a second value", server.Limits{}, "", valid + " {}", 400, fmt.Sprintf("unexpected data after the JSON value at byte %d", len(valid)+1)},
		{"the request twice", server.Limits{}, "", valid + valid, 400, fmt.Sprintf("unexpected data after the JSON value at byte %d", len(valid))},
		{"a stray bracket", server.Limits{}, "", valid + "]", 400, "unexpected data after the JSON value"},
		{"garbage", server.Limits{}, "", valid + "\n\x00garbage", 400, fmt.Sprintf("unexpected data after the JSON value at byte %d", len(valid)+1)},
		{"trailing blanks are fine", server.Limits{}, "", " \r\n\t" + valid + " \r\n\t", 200, "real"},

		{"blanks only", server.Limits{}, "", " \r\n\t", 400, "request body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{Limits: tt.limits})
			req := srv.request(t, http.MethodPost, sendPath, "Bearer "+testToken, tt.body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp := srv.do(t, req)
			recorded := srv.store.Messages("")
			if tt.wantStatus != http.StatusOK {
				wantError(t, resp, tt.wantStatus, tt.want)
				if len(recorded) != 0 {
					t.Errorf("a refused request recorded %+v", recorded)
				}
				return
			}
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %.300s", resp.status, resp.body)
			}
			if len(recorded) != 1 || recorded[0].Message != tt.want || recorded[0].SessionID != idConnected || recorded[0].MessageType != "INFO" {
				t.Errorf("recorded %+v, want one INFO message %q to %s", recorded, tt.want, idConnected)
			}
		})
	}
}

// The body checks come after the token check, and apply only to operations
// that the spec gives a body.
func TestBodyChecksKeepTheirPlace(t *testing.T) {
	t.Parallel()
	const junk = "{} {} \xff"
	trailing := sendBody(t, "m", "INFO", idConnected) + " {}"
	notUTF8 := `{"message":"caf` + "\xe9" + `","message_type":"INFO","session_ids":["` + idConnected + `"]}`
	tests := []struct {
		name          string
		method, path  string
		authorization string
		body          string
		wantStatus    int
	}{
		{"trailing data, wrong token", http.MethodPost, sendPath, "Bearer wrong", trailing, http.StatusUnauthorized},
		{"not UTF-8, no token", http.MethodPost, sendPath, "", notUTF8, http.StatusUnauthorized},
		{"body on list, ignored", http.MethodGet, messagesPath, "Bearer " + testToken, junk, http.StatusOK},
		{"body on clear, ignored", http.MethodDelete, messagesPath, "Bearer " + testToken, junk, http.StatusNoContent},
		{"body on health, ignored", http.MethodGet, healthPath, "", junk, http.StatusOK},
		{"body on the session list, ignored", http.MethodGet, sessionsPath, "Bearer " + testToken, junk, http.StatusOK},
		{"body on one session, ignored", http.MethodGet, sessionsPath + "/" + idConnected, "Bearer " + testToken, junk, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{})
			resp := srv.do(t, srv.request(t, tt.method, tt.path, tt.authorization, tt.body))
			if resp.status != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
		})
	}
}

// Every operation that the spec gives a JSON body refuses trailing data and
// bytes that are not UTF-8, before its handler runs: the example body of each
// is spoilt both ways. Logins and logouts are no exception.
func TestEveryBodyIsStrictJSON(t *testing.T) {
	t.Parallel()
	doc := spectest.Load(t).Doc()
	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			media := op.RequestBody.Value.Content.Get("application/json")
			if media == nil || media.Example == nil {
				t.Errorf("%s %s: no JSON body example to spoil", method, path)
				continue
			}
			example, err := json.Marshal(media.Example)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			tests := []struct{ name, body, want string }{
				{"trailing data", string(example) + " {}", fmt.Sprintf("unexpected data after the JSON value at byte %d", len(example)+1)},
				{"not UTF-8", "{\"x\xff\":1," + string(example[1:]), "not valid UTF-8 at byte 3"},
			}
			for _, tt := range tests {
				t.Run(fmt.Sprintf("%s %s, %s", method, path, tt.name), func(t *testing.T) {
					t.Parallel()
					srv := newTestServer(t, server.Config{})
					resp := srv.do(t, srv.request(t, method, specTarget(t, path, item), "Bearer "+testToken, tt.body))
					wantError(t, resp, http.StatusBadRequest, tt.want)
					if got := srv.store.Messages(""); len(got) != 0 {
						t.Errorf("a refused request recorded %+v", got)
					}
				})
			}
		}
	}
	if checked < 4 {
		t.Errorf("only %d operations with a JSON body", checked)
	}
}

// A schema error must not render the offending value: indented, a body
// nested d levels deep renders in O(d²), and 20 KB took seconds of CPU. The
// test counts the bytes one such request allocates; it is not parallel, so
// that other tests do not allocate meanwhile.
func TestDeepNestingStaysCheap(t *testing.T) {
	const depth = 9999 // just within encoding/json's depth limit
	srv, err := server.New(server.Config{Token: testToken, Store: server.NewMemoryStore(testSessions())})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"message":"m","message_type":"INFO","session_ids":` + nested(depth) + `}`
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, sendPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	srv.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)

	checkResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
	wantError(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()},
		http.StatusBadRequest, "/session_ids/0: value must be a string")
	const budget = 16 << 20
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > budget {
		t.Errorf("a %d-byte body nested %d deep allocated %d MB, over %d MB", len(body), depth, allocated>>20, budget>>20)
	}
}

// nested is a string nested in depth arrays.
func nested(depth int) string { return repeat("[", depth) + `"a"` + repeat("]", depth) }

// A body whose schema refuses unknown members, spoilt with bytes that are not
// UTF-8 in a member's name, gets the answer that names the bytes, not the
// validator's word on the name it decoded them to.
func TestNotUTF8BeforeUnknownMembers(t *testing.T) {
	t.Parallel()
	closed := false
	srv := newTestServer(t, server.WithSpecChange(server.Config{}, func(doc *openapi3.T) {
		doc.Components.Schemas["SessionSendMessageSpec"].Value.AdditionalProperties.Has = &closed
	}))
	body := "{\"x\xff\":1," + sendBody(t, "m", "INFO", idConnected)[1:]
	wantError(t, srv.send(t, body), http.StatusBadRequest, "request body: not valid UTF-8 at byte 3")
	wantError(t, srv.send(t, `{"x":1,`+sendBody(t, "m", "INFO", idConnected)[1:]), http.StatusBadRequest, `request body: /x: property "x" is unsupported`)
}
