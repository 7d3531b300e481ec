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

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/fakeclock"
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
		// declared is a Content-Length other than the body's; zeroLength
		// declares 0.
		declared   int64
		zeroLength bool
		// token is how the bearer token is had: "" the static one, else a
		// login's access token that is "live", "refreshed", "revoked" (by
		// logout) or "expired".
		token string
		// want, when set, is the status both must answer.
		want int
		// fast says that the fast path takes the request.
		fast bool
	}{
		// Accepted on the fast path.
		{name: "plain", body: `{` + ok + `}`, fast: true},
		{name: "all kinds of ids", body: `{"message":"m","message_type":"WARNING","session_ids":["` +
			strings.Join([]string{idConnected, idUnknown, idDisconnected, idPending, idConnected}, `","`) + `"]}`, want: 200, fast: true},
		{name: "more kinds of ids", body: `{"message":"m","message_type":"WARNING","session_ids":["` +
			strings.Join([]string{idNoUser, idConnected2, idNoUser}, `","`) + `"]}`, want: 200, fast: true},
		{name: "escapes and non-ASCII", body: `{"message":"caf\u00e9 \"ok\" ` + "\u00e9\U0001F600" + `","message_type":"ERROR","session_ids":["` + idConnected + `"]}`, fast: true},
		{name: "message at its limit in runes", body: `{"message":"` + strings.Repeat("\u00e9", 20) + `","message_type":"INFO","session_ids":["` + idConnected + `"]}`, fast: true},
		{name: "ids at their limit", body: `{"message":"m","message_type":"INFO","session_ids":["a","b","c","d","e"]}`, fast: true},
		{name: "chunked", body: `{` + ok + `}`, chunked: true, fast: true},
		// Accepted: by the fast path where fast says so, else by the validator.
		{name: "extra member", body: `{` + ok + `,"extra":{"a":[1,2]}}`, fast: true},
		{name: "content type with charset", contentType: "application/json; charset=utf-8", body: `{` + ok + `}`, fast: true},
		{name: "content type in capitals", contentType: "APPLICATION/JSON", body: `{` + ok + `}`},
		{name: "trailing garbage", body: `{` + ok + `} trailing`},
		{name: "duplicate member", body: `{` + ok + `,"message":"second"}`},
		{name: "upper-case shadow", body: `{` + ok + `,"MESSAGE_TYPE":"DEBUG"}`, fast: true},
		{name: "escaped member name", body: `{"messag\u0065":"m","message_type":"INFO","session_ids":["` + idConnected + `"]}`},
		{name: "trailing blanks", body: " \r\n\t{" + ok + "} \r\n\t", fast: true},
		{name: "escaped lone surrogates", body: `{"message":"a\ud800b\udc00","message_type":"INFO","session_ids":["` + idConnected + `"]}`, want: 200, fast: true},
		{name: "escaped surrogate pair", body: `{"message":"\ud83d\ude00","message_type":"INFO","session_ids":["` + idConnected + `"]}`, fast: true},
		{name: "duplicate message, the last wins", body: `{"message":"first","message":"real","message_type":"INFO","session_ids":["` + idConnected + `"]}`},
		{name: "duplicate type, valid last", body: `{"message":"real","message_type":"DEBUG","message_type":"INFO","session_ids":["` + idConnected + `"]}`, want: 200},
		{name: "duplicate message, too long first", body: `{"message":"` + strings.Repeat("x", 21) + `","message":"real","message_type":"INFO","session_ids":["` + idConnected + `"]}`},
		{name: "duplicate ids, the last wins", body: `{"message":"real","message_type":"INFO","session_ids":["` + idConnected2 + `"],"session_ids":["` + idConnected + `"]}`, want: 200},
		{name: "login access token", body: `{` + ok + `}`, token: "live", want: 200, fast: true},
		{name: "refreshed access token", body: `{` + ok + `}`, token: "refreshed", want: 200, fast: true},
		// Refused by strictJSON, which the fast path must not get past.
		{name: "invalid UTF-8", body: "{\"message\":\"\xff\",\"message_type\":\"INFO\",\"session_ids\":[\"" + idConnected + "\"]}"},
		{name: "invalid byte in the message", body: "{\"message\":\"caf\xff\",\"message_type\":\"INFO\",\"session_ids\":[\"" + idConnected + "\"]}", want: 400},
		{name: "Latin-1 text", contentType: "application/json; charset=ISO-8859-1", body: "{\"message\":\"caf\xe9\",\"message_type\":\"INFO\",\"session_ids\":[\"" + idConnected + "\"]}"},
		{name: "overlong encoding", body: "{\"message\":\"\xc0\xaf\",\"message_type\":\"INFO\",\"session_ids\":[\"" + idConnected + "\"]}"},
		{name: "UTF-16 surrogate encoded in UTF-8", body: "{\"message\":\"\xed\xa0\x80\",\"message_type\":\"INFO\",\"session_ids\":[\"" + idConnected + "\"]}"},
		{name: "truncated sequence in a session id", body: "{\"message\":\"m\",\"message_type\":\"INFO\",\"session_ids\":[\"\xe2\x82\"]}"},
		{name: "invalid byte in an unknown member name", body: "{\"x\xff\":1," + ok + "}"},
		{name: "invalid byte after the value", body: "{" + ok + "}\xff"},
		{name: "UTF-16 body", body: "\xff\xfe{\x00}\x00"},
		{name: "a second value", body: `{` + ok + `} {}`, want: 400},
		{name: "the request twice", body: `{` + ok + `}{` + ok + `}`},
		{name: "a stray bracket", body: `{` + ok + `}]`},
		{name: "garbage after the value", body: "{" + ok + "}\n\x00garbage"},
		{name: "blanks only", body: " \r\n\t"},
		{name: "duplicate type, invalid last", body: `{"message":"real","message_type":"INFO","message_type":"DEBUG","session_ids":["` + idConnected + `"]}`},
		{name: "nested arrays as the ids", body: `{"message":"m","message_type":"INFO","session_ids":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`},
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
		{name: "declared length longer than the body", body: `{` + ok + `}`, declared: 200, fast: true},
		{name: "declared length shorter than the body", body: `{` + ok + `}`, declared: 20, fast: true},
		{name: "declared length zero", body: `{` + ok + `}`, zeroLength: true},
		{name: "no token", authorization: "-", body: `{` + ok + `}`},
		{name: "wrong token", authorization: "Bearer nope", body: `{` + ok + `}`},
		{name: "malformed authorization", authorization: "Basic abc", body: `{` + ok + `}`},
		{name: "wrong token and bad body", authorization: "Bearer nope", body: `{"message":1}`},
		{name: "wrong token and trailing data", authorization: "Bearer nope", body: `{` + ok + `} {}`},
		{name: "no token and invalid UTF-8", authorization: "-", body: "{\"message\":\"caf\xe9\",\"message_type\":\"INFO\",\"session_ids\":[\"" + idConnected + "\"]}"},
		{name: "revoked access token", body: `{` + ok + `}`, token: "revoked", want: 401},
		{name: "expired access token", body: `{` + ok + `}`, token: "expired", want: 401},
		{name: "revoked access token and invalid UTF-8", body: "{\"message\":\"\xff\",\"message_type\":\"INFO\",\"session_ids\":[\"" + idConnected + "\"]}", token: "revoked", want: 401},
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
				clock := newFakeClock()
				cfg.Token, cfg.Store, cfg.Limits, cfg.Now = testToken, store, limits, clock.Now
				cfg.Users = []model.ReferenceUser{{Username: testUser, Domain: testDomain, Password: testPassword}}
				srv, err := server.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				taken := server.CountFastPathBinds(srv)
				authorization := tt.authorization
				if tt.token != "" {
					authorization = "Bearer " + loginToken(t, srv, clock, tt.token)
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
				case tt.zeroLength:
					length = 0
				}
				answers[i] = answer(t, srv, tt.method, tt.path, tt.contentType, authorization, r, length)
				records[i] = store.Messages("")
				if fast := taken.Load() > 0; fast != (tt.fast && i == 0) {
					t.Errorf("taken by the fast path: %v, want %v (server %d of [fast, validator])", fast, tt.fast && i == 0, i)
				}
			}
			if tt.want != 0 && !strings.HasPrefix(answers[0], http.StatusText(tt.want)+"\n") {
				t.Errorf("answer is not %d %s:\n%s", tt.want, http.StatusText(tt.want), answers[0])
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
	checkResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
	checkSecurityHeaders(t, req, rec.Header())
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

// loginToken logs the test user in to srv and returns an access token in the
// given state: "live", "refreshed" (issued by a refresh), "revoked" (its login
// logged out) or "expired" (clock moved past its lifetime).
func loginToken(t *testing.T, srv http.Handler, clock *fakeclock.Clock, state string) string {
	t.Helper()
	call := func(path, body string) []byte {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		checkResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
		if rec.Code/100 != 2 {
			t.Fatalf("POST %s: status %d, body %s", path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	tokens := decodeStrict[model.AuthTokens](t, call(loginPath, loginBody(t, testUser, testPassword, testDomain)))
	switch state {
	case "live":
	case "refreshed":
		clock.Advance(time.Minute)
		tokens.AccessToken = decodeStrict[model.AuthTokens](t, call(refreshPath, refreshBody(tokens.RefreshToken))).AccessToken
	case "revoked":
		call(logoutPath, refreshBody(tokens.RefreshToken))
	case "expired":
		clock.Advance(server.DefaultAccessTokenTTL + time.Second)
	default:
		t.Fatalf("unknown token state %q", state)
	}
	return tokens.AccessToken
}
