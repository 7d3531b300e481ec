package server_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/server"
)

// TestFastPathAnswersAsTheValidator sends the same requests to a server with
// the fast path and to one that takes every request through the generic
// validator, and wants the same answers, byte for byte, and the same record.
func TestFastPathAnswersAsTheValidator(t *testing.T) {
	t.Parallel()
	ok := `"message":"m","message_type":"INFO","session_ids":["` + idConnected + `"]`
	tests := []struct {
		name, method, path, contentType, authorization, body string
		chunked                                              bool
		// readError ends the body with this error instead of io.EOF.
		readError string
		// declared is a Content-Length other than the body's.
		declared int64
	}{
		// Accepted on the fast path.
		{name: "plain", body: `{` + ok + `}`},
		{name: "all kinds of ids", body: `{"message":"m","message_type":"WARNING","session_ids":["` +
			strings.Join([]string{idConnected, idUnknown, idDisconnected, idPending, idConnected, idNoUser, idConnected2}, `","`) + `"]}`},
		{name: "escapes and non-ASCII", body: `{"message":"caf\u00e9 \"ok\" ` + "\u00e9\U0001F600" + `","message_type":"ERROR","session_ids":["` + idConnected + `"]}`},
		{name: "message at its limit in runes", body: `{"message":"` + strings.Repeat("\u00e9", 20) + `","message_type":"INFO","session_ids":["` + idConnected + `"]}`},
		{name: "ids at their limit", body: `{"message":"m","message_type":"INFO","session_ids":["a","b","c","d","e"]}`},
		{name: "chunked", body: `{` + ok + `}`, chunked: true},
		// Accepted, but by the validator.
		{name: "extra member", body: `{` + ok + `,"extra":{"a":[1,2]}}`},
		{name: "content type with charset", contentType: "application/json; charset=utf-8", body: `{` + ok + `}`},
		{name: "content type in capitals", contentType: "APPLICATION/JSON", body: `{` + ok + `}`},
		{name: "trailing garbage", body: `{` + ok + `} trailing`},
		{name: "duplicate member", body: `{` + ok + `,"message":"second"}`},
		{name: "upper-case shadow", body: `{` + ok + `,"MESSAGE_TYPE":"DEBUG"}`},
		{name: "escaped member name", body: `{"messag\u0065":"m","message_type":"INFO","session_ids":["` + idConnected + `"]}`},
		{name: "invalid UTF-8", body: "{\"message\":\"\xff\",\"message_type\":\"INFO\",\"session_ids\":[\"" + idConnected + "\"]}"},
		// Refused.
		{name: "lower-case type", body: `{"message":"m","message_type":"info","session_ids":["a"]}`},
		{name: "missing message", body: `{"message_type":"INFO","session_ids":["a"]}`},
		{name: "null message", body: `{"message":null,"message_type":"INFO","session_ids":["a"]}`},
		{name: "empty message", body: `{"message":"","message_type":"INFO","session_ids":["a"]}`},
		{name: "message over its limit", body: `{"message":"` + strings.Repeat("\u00e9", 21) + `","message_type":"INFO","session_ids":["a"]}`},
		{name: "no ids", body: `{"message":"m","message_type":"INFO","session_ids":[]}`},
		{name: "ids over their limit", body: `{"message":"m","message_type":"INFO","session_ids":["a","b","c","d","e","f"]}`},
		{name: "id not a string", body: `{"message":"m","message_type":"INFO","session_ids":["a",7]}`},
		{name: "ids null", body: `{"message":"m","message_type":"INFO","session_ids":null}`},
		{name: "control character", body: "{\"message\":\"a\x01\",\"message_type\":\"INFO\",\"session_ids\":[\"a\"]}"},
		{name: "bad escape", body: `{"message":"\x","message_type":"INFO","session_ids":["a"]}`},
		{name: "truncated", body: `{"message":"m","message_type":"INFO","session_ids":["a"`},
		{name: "null body", body: `null`},
		{name: "array body", body: `[]`},
		{name: "not JSON", body: `message=m`},
		{name: "empty body"},
		{name: "text/plain", contentType: "text/plain", body: `{` + ok + `}`},
		{name: "no content type", contentType: "-", body: `{` + ok + `}`},
		{name: "over the body limit", body: `{` + ok + `,"pad":"` + strings.Repeat("x", 600) + `"}`},
		{name: "over the body limit, chunked", body: `{` + ok + `,"pad":"` + strings.Repeat("x", 600) + `"}`, chunked: true},
		{name: "body cut by a read error", body: `{` + ok + `}`, readError: "connection reset by peer"},
		{name: "body cut by a read error, chunked", body: `{` + ok, readError: "connection reset by peer", chunked: true},
		{name: "declared length longer than the body", body: `{` + ok + `}`, declared: 200},
		{name: "declared length shorter than the body", body: `{` + ok + `}`, declared: 20},
		{name: "no token", authorization: "-", body: `{` + ok + `}`},
		{name: "wrong token", authorization: "Bearer nope", body: `{` + ok + `}`},
		{name: "malformed authorization", authorization: "Basic abc", body: `{` + ok + `}`},
		{name: "wrong token and bad body", authorization: "Bearer nope", body: `{"message":1}`},
		{name: "escaped path", path: server.BasePath + "/inventory/v1/sessions/action/send%2Dmessage", body: `{` + ok + `}`},
		{name: "wrong method", method: http.MethodPut, body: `{` + ok + `}`},
		{name: "other operation", method: http.MethodGet, path: messagesPath},
	}
	limits := server.Limits{MaxBodyBytes: 512, MaxMessageLength: 20, MaxSessionIDs: 5}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var answers [2]string
			var records [2]any
			for i, cfg := range []server.Config{{}, server.WithoutFastPath(server.Config{})} {
				store := server.NewMemoryStore(testSessions())
				cfg.Token, cfg.Store, cfg.Limits = testToken, store, limits
				cfg.Now = func() time.Time { return fixedNow }
				srv, err := server.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				var r io.Reader = strings.NewReader(tt.body)
				if tt.readError != "" {
					r = io.MultiReader(r, failingReader{errors.New(tt.readError)})
				}
				if tt.chunked {
					r = streamOnly{r}
				}
				length := int64(len(tt.body))
				switch {
				case tt.chunked:
					length = -1
				case tt.declared != 0:
					length = tt.declared
				}
				answers[i] = answer(t, srv, tt.method, tt.path, tt.contentType, tt.authorization, r, length)
				records[i] = store.Messages("")
			}
			if diff := cmp.Diff(answers[1], answers[0]); diff != "" {
				t.Errorf("answer (-validator +fast path):\n%s", diff)
			}
			if diff := cmp.Diff(records[1], records[0]); diff != "" {
				t.Errorf("record (-validator +fast path):\n%s", diff)
			}
		})
	}
}

// answer serves one request and writes down the answer: status, headers but
// the random request id, body.
func answer(t *testing.T, srv http.Handler, method, path, contentType, authorization string, body io.Reader, length int64) string {
	t.Helper()
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = sendPath
	}
	req := httptest.NewRequestWithContext(t.Context(), method, path, body)
	req.ContentLength = length
	switch contentType {
	case "":
		req.Header.Set("Content-Type", "application/json")
	case "-":
	default:
		req.Header.Set("Content-Type", contentType)
	}
	switch authorization {
	case "":
		req.Header.Set("Authorization", "Bearer "+testToken)
	case "-":
	default:
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	rec.Header().Del("X-Request-Id")
	var b strings.Builder
	b.WriteString(http.StatusText(rec.Code) + "\n")
	if err := rec.Header().Write(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n" + rec.Body.String())
	return b.String()
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }
