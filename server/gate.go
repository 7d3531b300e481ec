package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/hzkit/sendmessage/server/internal/logins"
	"github.com/hzkit/sendmessage/server/internal/metrics"
)

// operation is what the gate knows of one operation of the spec.
type operation struct {
	id        string
	metrics   *metrics.Operation
	protected bool
	// bodyLimit is the largest body read; 0 when the spec gives the
	// operation no body, which is then never read.
	bodyLimit int64
}

// routes finds the operation of a request by echo's route (c.Path()) and
// method.
type routes map[string]map[string]*operation

func (r routes) find(path, method string) *operation { return r[path][method] }

// newRoutes reads the operations of doc: which need a token, and how large a
// body each may have. The operations of tag Auth (login, refresh, logout)
// carry a name, a password or a token: AuthBodyBytes at most.
func newRoutes(doc *openapi3.T, limits Limits) routes {
	r := routes{}
	for path, item := range doc.Paths.Map() {
		echoPath := BasePath + echoParams(path)
		if r[echoPath] == nil {
			r[echoPath] = map[string]*operation{}
		}
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			o := &operation{id: op.OperationID, protected: len(security) > 0}
			if op.RequestBody != nil {
				o.bodyLimit = limits.MaxBodyBytes
				for _, tag := range op.Tags {
					if tag == "Auth" {
						o.bodyLimit = min(limits.MaxAuthBodyBytes, limits.MaxBodyBytes)
					}
				}
			}
			r[echoPath][method] = o
		}
	}
	return r
}

// echoParams turns the spec's path parameters ({id}) into echo's (:id).
func echoParams(path string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(path, '{')
		end := strings.IndexByte(path, '}')
		if open < 0 || end < open {
			b.WriteString(path)
			return b.String()
		}
		b.WriteString(path[:open])
		b.WriteByte(':')
		b.WriteString(path[open+1 : end])
		path = path[end+1:]
	}
}

// gate is the first check of every request under /rest, before anything
// reads its body: the token of a protected operation (401 at once: an
// unauthenticated body is never read), the body's declared size against the
// operation's limit (413), query parameters in UTF-8 (400), and room in the
// budget of bodies in flight (503 with Retry-After when none frees in time).
// Requests for paths or methods the spec does not have pass on to the
// validator, which answers 404 or 405 without reading a body.
func (s *Server) gate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		op := s.routes.find(c.Path(), req.Method)
		if op == nil {
			if req.ContentLength > s.limits.MaxBodyBytes {
				return s.tooLarge(c, s.limits.MaxBodyBytes)
			}
			req.Body = readErrors{http.MaxBytesReader(c.Response(), req.Body, s.limits.MaxBodyBytes)}
			return next(c)
		}
		var grant logins.Grant
		if op.protected {
			var err error
			if grant, err = authorize(s.auth, req.Header.Get(echo.HeaderAuthorization)); err != nil {
				s.metrics.Refused(metrics.LimitUnauthorized)
				closeUnread(c)
				return err
			}
		}
		if req.URL.RawQuery != "" {
			if err := utf8Query(c); err != nil {
				closeUnread(c)
				return err
			}
		}
		if op.bodyLimit == 0 {
			// No body in the spec: nothing reads one, not even the
			// validator's security check (which reads any body it finds).
			// A declared length over the server's limit is still refused.
			if req.ContentLength > s.limits.MaxBodyBytes {
				return s.tooLarge(c, s.limits.MaxBodyBytes)
			}
			if req.Body != nil && req.Body != http.NoBody {
				// On a copy: net/http looks at the request it made to
				// decide whether the connection can carry another request
				// after the answer (a body left unread in part cannot).
				bodyless := *req
				bodyless.Body = http.NoBody
				c.SetRequest(&bodyless)
			}
			return next(c)
		}
		if req.ContentLength > op.bodyLimit {
			return s.tooLarge(c, op.bodyLimit)
		}
		body := &budgetedBody{
			ReadCloser: http.MaxBytesReader(c.Response(), req.Body, op.bodyLimit), s: s, ctx: req.Context(),
			grant: grant, authenticated: op.protected,
		}
		defer body.release()
		if req.ContentLength > 0 {
			// A declared length is charged in full before anything is read.
			if err := body.charge(req.ContentLength); err != nil {
				return s.noRoom(c)
			}
			body.declared = true
		}
		req.Body = body
		return next(c)
	}
}

// noRoom is the answer to a request whose body finds no room in the budget.
func (s *Server) noRoom(c echo.Context) error {
	s.metrics.Refused(metrics.LimitBodyBudget)
	closeUnread(c)
	c.Response().Header().Set(echo.HeaderRetryAfter, "1")
	return echo.NewHTTPError(http.StatusServiceUnavailable,
		"the server is reading as many request bodies as it has room for: retry in a second")
}

// budgetChunk is what a body of unknown length is charged at a time, as it
// is read.
const budgetChunk = 64 << 10

// budgetedBody reads a request body within the budget of bodies in flight:
// a body of declared length is charged for all of it at once; one of unknown
// length (chunked) chunk by chunk as it arrives. When no room frees in time,
// Read fails with errNoRoom.
//
// It also carries what the gate found of the token: the validator's and the
// fast path's AuthenticationFunc accept a request whose body is one, and
// when the body's end arrives the token is checked again: a logout (or a
// refresh that retired the token, or its expiry) while the body was
// uploading fails the read with errTokenEnded, which is answered 401.
type budgetedBody struct {
	io.ReadCloser
	s             *Server
	ctx           context.Context
	charged, read int64
	// declared: the body's length was declared and charged in full; the
	// reads past it only meet the end.
	declared bool
	// authenticated: the gate checked the token of a protected operation;
	// grant is what it found.
	authenticated bool
	grant         logins.Grant
}

// errTokenEnded fails the read of a body whose token stopped working while
// it was uploading.
var errTokenEnded = errors.New("the token's login has ended or the token has expired: log in again")

// charge takes n more bytes of the budget, n at most what the budget has
// beyond what the body holds already: a body larger than the whole budget
// is charged the whole budget.
func (b *budgetedBody) charge(n int64) error {
	n = min(n, b.s.budget.size-b.charged)
	if err := b.s.budget.acquire(b.ctx, n); err != nil {
		return err
	}
	b.charged += n
	b.s.metrics.BodyBytes(n)
	return nil
}

// Read implements io.Reader. Its errors, but io.EOF, are *bodyReadError,
// as readErrors makes them.
func (b *budgetedBody) Read(p []byte) (int, error) {
	if len(p) > 0 && !b.declared && b.charged < b.s.budget.size {
		if b.read == b.charged {
			if err := b.charge(budgetChunk); err != nil {
				return 0, &bodyReadError{err: err}
			}
		}
		p = p[:min(int64(len(p)), b.charged-b.read)]
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	switch {
	case err == nil:
	case !errors.Is(err, io.EOF):
		err = &bodyReadError{err: err}
	case b.authenticated && b.grant.Ended(b.s.now):
		err = &bodyReadError{err: errTokenEnded}
	}
	return n, err
}

// release gives back what the body was charged.
func (b *budgetedBody) release() {
	if b.charged > 0 {
		b.s.budget.release(b.charged)
		b.s.metrics.BodyBytes(-b.charged)
		b.charged = 0
	}
}

// tooLarge refuses a body over limit without reading it.
func (s *Server) tooLarge(c echo.Context, limit int64) error {
	s.metrics.Refused(metrics.LimitBodySize)
	closeUnread(c)
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit))
}

// closeUnread asks that the connection of an HTTP/1 request be closed after
// the answer when the request has a body that will not be read: what is left
// of it cannot be told from a next request, and reading it would be what the
// refusal spares. HTTP/2 resets the stream instead.
func closeUnread(c echo.Context) {
	req := c.Request()
	if req.ProtoMajor == 1 && req.ContentLength != 0 {
		c.Response().Header().Set(echo.HeaderConnection, "close")
	}
}

// utf8Query refuses query parameters that are not UTF-8 once decoded, which
// a JSON decoder would turn into U+FFFD and a comparison would miss.
func utf8Query(c echo.Context) error {
	for name, values := range c.QueryParams() {
		if !utf8.ValidString(name) {
			return echo.NewHTTPError(http.StatusBadRequest, "query parameter name is not valid UTF-8")
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("query parameter %q: not valid UTF-8 at byte %d", name, firstInvalid(v)))
			}
		}
	}
	return nil
}

// firstInvalid is the offset of the first byte of s that is not UTF-8.
func firstInvalid(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return len(s)
}

// DefaultMaxBodyBytesInFlight bounds the request bodies read at once when
// Limits.MaxBodyBytesInFlight is 0.
// Bodies cost the server a multiple of their size while they are read and
// checked (the generic validator decodes a body of numbers into about ten
// times its size): 8 MiB keeps a server under attack near 200 MB.
const DefaultMaxBodyBytesInFlight int64 = 8 << 20

// budgetWait is how long a request waits for room in the body budget before
// it gets 503.
const budgetWait = 250 * time.Millisecond

// bodyBudget bounds the bytes of request bodies in flight.
type bodyBudget struct {
	sem  *semaphore.Weighted
	size int64
}

func newBodyBudget(size int64) *bodyBudget {
	return &bodyBudget{sem: semaphore.NewWeighted(size), size: size}
}

var errNoRoom = errors.New("no room in the body budget")

func (b *bodyBudget) acquire(ctx context.Context, n int64) error {
	if b.sem.TryAcquire(n) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, budgetWait)
	defer cancel()
	if err := b.sem.Acquire(ctx, n); err != nil {
		return errNoRoom
	}
	return nil
}

func (b *bodyBudget) release(n int64) { b.sem.Release(n) }
