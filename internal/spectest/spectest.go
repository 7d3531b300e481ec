// Package spectest holds answers against the contract in api/openapi.yaml. It
// is for tests: every response a server test sees goes through Checker.
package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hzkit/sendmessage/api"
)

// Checker validates answers against the spec as published (not as a server
// with other limits has adjusted it). It only reads the spec: share it.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
}

var load = sync.OnceValues(func() (*Checker, error) {
	doc, err := api.Load()
	if err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("spec router: %w", err)
	}
	return &Checker{doc: doc, router: router}, nil
})

// Load returns the shared Checker, failing t if the spec does not load.
func Load(t testing.TB) *Checker {
	t.Helper()
	c, err := load()
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	return c
}

// Doc is the spec. Do not change it.
func (c *Checker) Doc() *openapi3.T { return c.doc }

// Check says how an answer to req breaks the spec, or returns nil: an
// undeclared status, header or body. An answer for which the spec has no
// operation (404, 405) must still carry an ErrorResponse.
func (c *Checker) Check(req *http.Request, status int, header http.Header, body []byte) error {
	// A header written in its own case (HAS_MORE_RECORDS) is checked too.
	canonical := make(http.Header, len(header))
	for name, values := range header {
		for _, v := range values {
			canonical.Add(name, v)
		}
	}
	header = canonical
	route, pathParams, err := c.router.FindRoute(req)
	if err != nil {
		if !errors.Is(err, routers.ErrPathNotFound) && !errors.Is(err, routers.ErrMethodNotAllowed) {
			return fmt.Errorf("spec router: %w", err)
		}
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Errorf("no operation in the spec (%w), yet status %d", err, status)
		}
		if req.Method == http.MethodHead {
			// An answer to HEAD has no body (RFC 9110, 9.3.2).
			if len(body) != 0 {
				return fmt.Errorf("answer to HEAD has a %d-byte body", len(body))
			}
			return nil
		}
		return c.CheckSchema("ErrorResponse", header, body)
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: pathParams,
			Route:      route,
			Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	})
}

// CheckSchema validates a JSON body against one component schema.
func (c *Checker) CheckSchema(schema string, header http.Header, body []byte) error {
	if mediaType, _, err := mime.ParseMediaType(header.Get("Content-Type")); err != nil || mediaType != "application/json" {
		return fmt.Errorf("Content-Type = %q, want application/json", header.Get("Content-Type"))
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	ref := c.doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("spec has no %s schema", schema)
	}
	if err := ref.Value.VisitJSON(value); err != nil {
		return fmt.Errorf("body does not match %s: %w", schema, err)
	}
	return nil
}

// Handler wraps next so that every answer it gives is checked; a breach
// fails t. Use it between httptest.NewServer and the server under test.
func (c *Checker) Handler(t testing.TB, next http.Handler) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if err := c.Check(r, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Errorf("%s %s: answer %d breaks the spec: %v\nbody: %s", r.Method, r.URL, rec.Code, err, rec.Body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// Transport wraps base (nil: http.DefaultTransport) so that every answer a
// client receives is checked; a breach fails t. Use it for tests that reach a
// server over the network, such as a whole program under test.
func (c *Checker) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	t.Helper()
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read answer to check it: %w", err)
		}
		if err := c.Check(req, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("%s %s: answer %d breaks the spec: %v\nbody: %s", req.Method, req.URL.Redacted(), resp.StatusCode, err, body)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
