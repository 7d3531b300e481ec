package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/server/internal/admission"
	"github.com/hzkit/sendmessage/server/internal/fastpath"
	"github.com/hzkit/sendmessage/server/internal/logins"
	"github.com/hzkit/sendmessage/server/internal/metrics"
)

// operation is what the server knows of one operation of the spec, found
// once per request.
type operation struct {
	id string
	// route is the operation as the validator knows it.
	route     *routers.Route
	metrics   *metrics.Operation
	protected bool
	// operatorOnly: the operation takes the operator's credential
	// (security scheme operatorToken): any other valid token gets 403.
	operatorOnly bool
	// bodyLimit is the largest body read; 0 when the spec gives the
	// operation no body, which is then never read.
	bodyLimit int64
	// fast is the fast path of the operation; nil when it has none.
	fast *fastpath.Operation
	// requires are the query parameters that need others (x-requires).
	requires []requirement
}

// operatorScheme is the security scheme of the operations that only the
// operator may call.
const operatorScheme = "operatorToken"

// routes finds the operation of a request by echo's route (c.Path()) and
// method.
type routes map[string]map[string]*operation

func (r routes) find(path, method string) *operation { return r[path][method] }

// each calls f with every operation, its method and its echo path.
func (r routes) each(f func(method, path string, op *operation)) {
	for path, methods := range r {
		for method, op := range methods {
			f(method, path, op)
		}
	}
}

// newRoutes reads the operations of doc: which need a token, and whose, and
// how large a body each may have. The operations of tag Auth (login,
// refresh, logout) carry a name, a password or a token: AuthBodyBytes at
// most.
func newRoutes(doc *openapi3.T, limits Limits, m *metrics.Metrics) (routes, error) {
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
			o := &operation{
				id: op.OperationID, protected: len(security) > 0, metrics: m.Operation(op.OperationID),
				route: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
			}
			var err error
			if o.requires, err = requirements(item, op); err != nil {
				return nil, err
			}
			for _, requirement := range security {
				if _, ok := requirement[operatorScheme]; ok {
					o.operatorOnly = true
				}
			}
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
	return r, nil
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

// request is the state of one request: the first middleware makes it and
// passes it on as the echo.Context that every later layer receives, so that
// the route is looked up and the token checked once.
type request struct {
	echo.Context
	op *operation // nil: not an operation of the spec
	// key is the client the request is charged to.
	key admission.Key
	// grant is what the token allows, when authErr is nil and the
	// operation is protected.
	grant   logins.Grant
	authErr error
	// anonymous: the request has no token that works for its operation,
	// or its operation needs none; it draws on the anonymous shares.
	anonymous bool
	// body is the request's body as the gate charges it; nil without one.
	body *budgetedBody
	// bodyState is where body points, kept with the state.
	bodyState budgetedBody
	// raw is the body as the generic validator read it, for strictJSON's
	// rules.
	raw *recordingBody
	// decoded is the fast path's typed body; validated the value the
	// validator decoded. The handler binds one of them.
	decoded, validated any
	// aborted: the request's connection closes (or its HTTP/2 stream is
	// reset) without an answer.
	aborted bool
}

// begin makes the request's state: it looks up the request's operation and
// checks its token, once, for every later layer. The state goes back to
// requests once the request is answered.
func (s *Server) begin(c echo.Context) *request {
	req := c.Request()
	// Kept for the next request, as echo keeps its contexts: nothing holds a
	// request's state once it is answered.
	r, _ := requests.Get().(*request)
	if r == nil {
		r = &request{}
	}
	*r = request{Context: c, op: s.routes.find(c.Path(), req.Method), key: admission.KeyOf(req.RemoteAddr), anonymous: true}
	// echo lets a parameter run past a slash (/sessions/action/x as
	// /sessions/{id}); the spec's templates never do.
	for _, value := range c.ParamValues() {
		if strings.Contains(value, "/") {
			r.op = nil
		}
	}
	if r.op != nil && r.op.protected {
		r.grant, r.authErr = authorize(s.auth, req.Header.Get(echo.HeaderAuthorization))
		r.anonymous = r.authErr != nil
	}
	return r
}

// requests are the states of requests answered, for the next ones.
var requests sync.Pool

// stateOf returns the state begin made for the request of c.
func stateOf(c echo.Context) *request {
	if r, ok := c.(*request); ok {
		return r
	}
	return &request{Context: c, anonymous: true}
}

// gate is the first check of every request under /rest, before anything
// reads its body: room among the requests in flight (503, or a reset
// HTTP/2 stream), the token of a protected operation (401 at once: an
// unauthenticated body is never read), the operator's for the test harness
// (403), the body's declared size against the operation's limit (413), query
// parameters in UTF-8 (400), and room in the budget of bodies in flight (503
// with Retry-After when none frees in time). Requests for paths or methods
// the spec does not have pass on to the validator, which answers 404 or 405
// without reading a body.
//
// The answer is written before the request's place among those in flight
// is given back: a client that does not read its answer holds its place.
func (s *Server) gate(r *request, next echo.HandlerFunc) {
	if !s.inFlight.TryAcquire(r.key, r.anonymous, 1) {
		s.noPlace(r)
		return
	}
	defer s.inFlight.Release(r.key, r.anonymous, 1)
	if err := s.check(r, next); err != nil {
		r.Error(err)
	}
}

// check is the gate's work once the request has its place.
func (s *Server) check(r *request, next echo.HandlerFunc) error {
	req := r.Request()
	if r.op == nil {
		if req.ContentLength > s.limits.MaxBodyBytes {
			return s.tooLarge(r, s.limits.MaxBodyBytes)
		}
		req.Body = readErrors{http.MaxBytesReader(r.Response(), req.Body, s.limits.MaxBodyBytes)}
		return next(r)
	}
	if r.authErr != nil {
		s.metrics.Refused(metrics.LimitUnauthorized)
		closeUnread(r)
		return r.authErr
	}
	if r.op.operatorOnly && !r.grant.Operator() {
		s.metrics.Refused(metrics.LimitForbidden)
		closeUnread(r)
		return echo.NewHTTPError(http.StatusForbidden, errNotOperator.Error())
	}
	if req.URL.RawQuery != "" {
		if err := utf8Query(r); err != nil {
			closeUnread(r)
			return err
		}
	}
	if r.op.bodyLimit == 0 {
		// No body in the spec: nothing reads one, not even the
		// validator's security check (which reads any body it finds).
		// A declared length over the server's limit is still refused.
		if req.ContentLength > s.limits.MaxBodyBytes {
			return s.tooLarge(r, s.limits.MaxBodyBytes)
		}
		if req.Body != nil && req.Body != http.NoBody {
			// On a copy: net/http looks at the request it made to
			// decide whether the connection can carry another request
			// after the answer (a body left unread in part cannot).
			bodyless := *req
			bodyless.Body = http.NoBody
			r.SetRequest(&bodyless)
		}
		return next(r)
	}
	if req.ContentLength > r.op.bodyLimit {
		return s.tooLarge(r, r.op.bodyLimit)
	}
	r.bodyState = budgetedBody{
		ReadCloser: http.MaxBytesReader(r.Response(), req.Body, r.op.bodyLimit), s: s, r: r, ctx: req.Context(),
		limit: r.op.bodyLimit,
	}
	body := &r.bodyState
	defer body.release()
	if req.ContentLength > 0 {
		// A declared length is charged in full before anything is read.
		if err := body.charge(req.ContentLength); err != nil {
			return s.noRoom(r)
		}
		body.declared = true
	}
	req.Body = body
	r.body = body
	return next(r)
}

// errNotOperator is the reason of a 403.
var errNotOperator = errors.New("only the operator may do this: use the server's static token or log in as a user marked operator")

// noPlace is the answer to a request that finds no place among those in
// flight. HTTP/2 resets the stream: an answer could wait forever on a client
// that does not read it, outside any bound.
func (s *Server) noPlace(c echo.Context) {
	s.metrics.Refused(metrics.LimitInFlight)
	if c.Request().ProtoMajor >= 2 {
		panic(http.ErrAbortHandler)
	}
	closeUnread(c)
	c.Response().Header().Set(echo.HeaderConnection, "close")
	c.Response().Header().Set(echo.HeaderRetryAfter, "1")
	c.Error(echo.NewHTTPError(http.StatusServiceUnavailable,
		"the server is handling as many requests as it has room for: retry in a second"))
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
// length (chunked) chunk by chunk as it arrives, never more in all than its
// operation's limit. When no room frees in time, Read fails with errNoRoom.
//
// It also carries the request's state: the validator's and the fast path's
// AuthenticationFunc accept a request whose body is one, as the gate has
// checked its token. When the body's end arrives the token is checked again:
// a logout (or a refresh that retired the token, or its expiry) while the
// body was uploading fails the read with errTokenEnded, which is answered
// 401.
type budgetedBody struct {
	io.ReadCloser
	s             *Server
	r             *request
	ctx           context.Context
	limit         int64
	charged, read int64
	// declared: the body's length was declared and charged in full; the
	// reads past it only meet the end.
	declared bool
	// decode: the generic validator decodes the body; decodeCharged is
	// what that has been charged in the budget of decoding.
	decode        bool
	decodeCharged int64
}

// errTokenEnded fails the read of a body whose token stopped working while
// it was uploading.
var errTokenEnded = errors.New("the token's login has ended or the token has expired: log in again")

// errNoRoom fails the read of a body that found no room in the budget.
var errNoRoom = admission.ErrNoRoom

// charge takes n more bytes of the budget, n at most what the body may
// still be charged: its operation's limit, and the most one client may hold.
func (b *budgetedBody) charge(n int64) error {
	n = min(n, min(b.limit, b.s.bodies.Most(b.r.anonymous))-b.charged)
	if n <= 0 {
		return nil
	}
	if err := b.s.bodies.Acquire(b.ctx, b.r.key, b.r.anonymous, n, budgetWait); err != nil {
		return err
	}
	b.charged += n
	b.s.metrics.BodyBytes(n)
	return nil
}

// decoding says that the generic validator decodes the body: from now on,
// and for what has been read already, the body is also charged in the
// budget of decoding for what decoding costs.
func (b *budgetedBody) decoding() error {
	b.decode = true
	return b.chargeDecoding(b.read)
}

// chargeDecoding takes what decoding n more bytes of the body costs, at most
// what one client may hold.
func (b *budgetedBody) chargeDecoding(n int64) error {
	n = min(n*genericDecodeCost, b.s.decoding.Most(b.r.anonymous)-b.decodeCharged)
	if n <= 0 {
		return nil
	}
	if err := b.s.decoding.Acquire(b.ctx, b.r.key, b.r.anonymous, n, budgetWait); err != nil {
		return err
	}
	b.decodeCharged += n
	b.s.metrics.DecodeBytes(n)
	return nil
}

// genericDecodeCost is how many times its size a body is charged while the
// generic validator decodes it into map[string]any and []any.
// BenchmarkGenericDecodeCost measures 43 to 80 bytes allocated per byte of
// body for the costliest shapes a member the schema leaves open may carry
// (short strings, arrays of small numbers, of empty arrays or objects); what
// stays live at once is a part of that.
const genericDecodeCost = 64

// Read implements io.Reader. Its errors, but io.EOF, are *bodyReadError,
// as readErrors makes them.
func (b *budgetedBody) Read(p []byte) (int, error) {
	if len(p) > 0 && !b.declared {
		if b.read == b.charged {
			if err := b.charge(budgetChunk); err != nil {
				return 0, &bodyReadError{err: err}
			}
		}
		if b.charged > b.read {
			p = p[:min(int64(len(p)), b.charged-b.read)]
		}
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if b.decode && n > 0 {
		if chargeErr := b.chargeDecoding(int64(n)); chargeErr != nil {
			return n, &bodyReadError{err: chargeErr}
		}
	}
	switch {
	case err == nil:
	case !errors.Is(err, io.EOF):
		err = &bodyReadError{err: err}
	case !b.r.anonymous && b.r.grant.Ended(b.s.now):
		err = &bodyReadError{err: errTokenEnded}
	}
	return n, err
}

// release gives back what the body was charged.
func (b *budgetedBody) release() {
	if b.charged > 0 {
		b.s.bodies.Release(b.r.key, b.r.anonymous, b.charged)
		b.s.metrics.BodyBytes(-b.charged)
		b.charged = 0
	}
	if b.decodeCharged > 0 {
		b.s.decoding.Release(b.r.key, b.r.anonymous, b.decodeCharged)
		b.s.metrics.DecodeBytes(-b.decodeCharged)
		b.decodeCharged = 0
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
const DefaultMaxBodyBytesInFlight int64 = 8 << 20

// DefaultMaxRequestsInFlight bounds the requests handled at once when
// Limits.MaxRequestsInFlight is 0.
const DefaultMaxRequestsInFlight = 512

// budgetWait is how long a request waits for room in the body budget before
// it gets 503.
const budgetWait = 250 * time.Millisecond

// Shares of the budgets (admission.Shares) as fractions of their size:
// one client address may hold a quarter of each; requests without a valid
// token, whose bodies are only logins, refreshes and logouts, an eighth of
// the body budget and a quarter of the places in flight, and one address of
// them a thirty-second of either.
func bodyShares(size int64) admission.Shares {
	return admission.Shares{Size: size, PerKey: size / 4, Anonymous: size / 8, AnonymousPerKey: size / 32}
}

// DefaultMaxDecodeBytesInFlight bounds what the generic validator's decoding
// of bodies may cost at once, when Limits.MaxDecodeBytesInFlight is 0.
const DefaultMaxDecodeBytesInFlight int64 = 32 << 20

// decodeShares are the shares of the budget of decoding: one client
// address may hold half of it, requests without a valid token an eighth,
// and one address of them a thirty-second.
func decodeShares(size int64) admission.Shares {
	return admission.Shares{Size: size, PerKey: size / 2, Anonymous: size / 8, AnonymousPerKey: size / 32}
}

func inFlightShares(size int64) admission.Shares {
	return admission.Shares{Size: size, PerKey: max(1, size/4), Anonymous: max(1, size/4), AnonymousPerKey: max(1, size/32)}
}
