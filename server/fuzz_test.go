package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// specExamplePassword is the password of the spec's login example, whose user
// is the demo administrator.
const specExamplePassword = "Example-Passw0rd"

// fuzzTimeout bounds one input: a request still unanswered then is a hang.
const fuzzTimeout = 10 * time.Second

// FuzzSendMessageBody sends arbitrary bodies to send-message with the right
// token, through the whole handler: middleware, validation, handler, store.
// The seeds are the spec's JSON examples. Properties: no 5xx, no hang, every
// answer valid against the spec with the security headers, and exactly the
// items answered 200 recorded.
func FuzzSendMessageBody(f *testing.F) {
	doc := spectest.Load(f).Doc()
	for _, example := range specExamples(doc) {
		f.Add(mustJSON(f, example))
	}
	srv, store := newFuzzServer(f)

	f.Fuzz(func(t *testing.T, body []byte) {
		store.ClearMessages()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, sendPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		code, answer := serveFuzz(t, srv, req)

		recorded := store.Messages("")
		if code != http.StatusOK {
			if len(recorded) != 0 {
				t.Errorf("answer %d, yet %d messages recorded", code, len(recorded))
			}
			return
		}
		var items []model.BulkItemResponseInfo
		if err := json.Unmarshal(answer, &items); err != nil {
			t.Fatalf("decode the 200 answer: %v", err)
		}
		delivered := 0
		for _, item := range items {
			if item.StatusCode == http.StatusOK {
				delivered++
			}
		}
		if delivered != len(recorded) {
			t.Errorf("%d items delivered, %d messages recorded", delivered, len(recorded))
		}
	})
}

// FuzzRequest sends arbitrary requests (method, target with query string,
// Content-Type, Authorization, other headers, body) through the whole
// handler. The seeds are the spec's operations with their examples.
// Properties: no 5xx, no hang, every answer valid against the spec with the
// security headers, and no success on a protected operation without the token.
func FuzzRequest(f *testing.F) {
	doc := spectest.Load(f).Doc()
	strs := exampleStrings(specExamples(doc))
	// The spec's router says which operation a request is for: paths are
	// templates, such as /inventory/v1/sessions/{id}.
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		f.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			var body []byte
			if op.RequestBody != nil {
				if media := op.RequestBody.Value.Content.Get("application/json"); media != nil && media.Example != nil {
					body = mustJSON(f, media.Example)
				}
			}
			target := specTarget(f, path, item)
			f.Add(method, target, "application/json", "Bearer "+testToken, "", body)
			f.Add(method, target, "application/json", "", "X-Request-ID: seed", body)
			for _, param := range op.Parameters {
				if param.Value.In != openapi3.ParameterInQuery {
					continue
				}
				values := strs
				// A parameter sent as JSON text (the filter) has its example with its schema.
				if media := param.Value.Content.Get("application/json"); media != nil && media.Example != nil {
					values = append(slices.Clip(values), string(mustJSON(f, media.Example)))
				}
				for _, s := range values {
					f.Add(method, target+"?"+param.Value.Name+"="+url.QueryEscape(s), "", "Bearer "+testToken, "", body)
				}
			}
		}
	}
	srv, _ := newFuzzServer(f)

	f.Fuzz(func(t *testing.T, method, target, contentType, authorization, headers string, body []byte) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		// What net/http would refuse before any handler is not for this target.
		req, err := http.NewRequestWithContext(t.Context(), method, "http://refserver.test"+target, bytes.NewReader(body))
		if err != nil || req.URL.Host != "refserver.test" {
			t.Skip()
		}
		for _, kv := range [][2]string{{"Content-Type", contentType}, {"Authorization", authorization}} {
			if kv[1] != "" {
				if !validHeader(kv[0], kv[1]) {
					t.Skip()
				}
				req.Header.Set(kv[0], kv[1])
			}
		}
		for line := range strings.Lines(headers) {
			name, value, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
			value = strings.TrimSpace(value)
			if !validHeader(name, value) {
				t.Skip()
			}
			req.Header.Add(name, value)
		}
		code, _ := serveFuzz(t, srv, req)
		if code/100 == 2 && needsToken(doc, router, req) && !strings.Contains(req.Header.Get("Authorization"), testToken) {
			t.Errorf("%s %s answered %d without the token (Authorization %q)", req.Method, req.URL.Path, code, req.Header.Get("Authorization"))
		}
		// An input may have added a fault rule: the next one meets none.
		clearRules := httptest.NewRequestWithContext(t.Context(), http.MethodDelete, faultsPath, http.NoBody)
		clearRules.Header.Set("Authorization", "Bearer "+testToken)
		if code, answer := serveFuzz(t, srv, clearRules); code != http.StatusNoContent {
			t.Fatalf("clear the fault rules: %d %s", code, answer)
		}
	})
}

// needsToken says whether the spec protects the operation req is for; a
// request for no operation needs the token too, as nothing may succeed there.
func needsToken(doc *openapi3.T, router routers.Router, req *http.Request) bool {
	route, _, err := router.FindRoute(req)
	if err != nil {
		return true
	}
	security := doc.Security
	if route.Operation.Security != nil {
		security = *route.Operation.Security
	}
	return len(security) > 0
}

// newFuzzServer returns a server over the demo sessions, which the spec's
// examples name, with the account of the spec's login example, and its store.
func newFuzzServer(f *testing.F) (*server.Server, *server.MemoryStore) {
	f.Helper()
	sessions, err := server.DemoSessions()
	if err != nil {
		f.Fatal(err)
	}
	store := server.NewMemoryStore(sessions)
	users := []model.ReferenceUser{server.DemoAdministrator(specExamplePassword)}
	srv, err := server.New(server.Config{Token: testToken, Users: users, Store: store})
	if err != nil {
		f.Fatal(err)
	}
	return srv, store
}

// serveFuzz serves req and returns the answer, failing t on a hang, a 5xx,
// an answer the spec does not allow, or one without the security headers.
func serveFuzz(t *testing.T, srv http.Handler, req *http.Request) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), fuzzTimeout)
	defer cancel()
	req = req.WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s %s: no answer within %s", req.Method, req.URL, fuzzTimeout)
	}
	if rec.Code >= http.StatusInternalServerError {
		t.Errorf("%s %s: answer %d: %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	if err := spectest.Load(t).Check(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		t.Errorf("%s %s: answer %d breaks the spec: %v\nbody: %.500s", req.Method, req.URL, rec.Code, err, rec.Body)
	}
	checkSecurityHeaders(t, req, rec.Header())
	return rec.Code, rec.Body.Bytes()
}

// specExamples returns every example of a request or response body in doc.
func specExamples(doc *openapi3.T) []any {
	var out []any
	add := func(content openapi3.Content) {
		for _, media := range content {
			if media.Example != nil {
				out = append(out, media.Example)
			}
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil {
				add(op.RequestBody.Value.Content)
			}
			for _, resp := range op.Responses.Map() {
				add(resp.Value.Content)
			}
		}
	}
	return out
}

// exampleStrings returns the strings found in examples, such as session ids.
func exampleStrings(examples []any) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for _, e := range examples {
		walk(e)
	}
	slices.Sort(out)
	return out
}

func mustJSON(f *testing.F, v any) []byte {
	f.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// validHeader says whether net/http would pass a header with this name and
// value on to a handler: the name a token, the value free of control bytes.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > '~' || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	for _, r := range value {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
