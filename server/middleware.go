package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// serve is the server's one middleware, around every request and its route's
// handler: it makes the request's state (begin), gives the answer its
// headers, passes the request to the gate, turning a panic into a 500, and
// once the error handler has answered, writes the access log line and
// counts the request.
func (s *Server) serve(c echo.Context, handler echo.HandlerFunc) {
	r := s.begin(c)
	defer requests.Put(r)
	s.responseHeaders(r)
	start := time.Now()
	s.metrics.Start()
	// Deferred: a request closed without an answer (http.ErrAbortHandler) is
	// logged and counted too, with status 0.
	defer s.accessLog(r, start)
	s.guard(r, handler)
}

// guard passes r to the gate, and answers a panic with 500, logging its
// stack; http.ErrAbortHandler, which closes the connection (or resets the
// HTTP/2 stream) without an answer, goes on to net/http.
func (s *Server) guard(r *request, next echo.HandlerFunc) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler { //nolint:errorlint // net/http compares the value itself
			r.aborted = true
			panic(p)
		}
		err, ok := p.(error)
		if !ok {
			err = fmt.Errorf("%v", p)
		}
		stack := make([]byte, 4<<10)
		stack = stack[:runtime.Stack(stack, false)]
		s.logger.ErrorContext(r.Request().Context(), "panic in handler",
			"request_id", r.Response().Header().Get(echo.HeaderXRequestID), "error", err, "stack", string(stack))
		r.Error(fmt.Errorf("recovered panic: %w", err))
	}()
	s.gate(r, next)
}

// accessLog writes one structured line per request, at INFO, and counts
// the request in the metrics. It logs no header, so no token can reach the
// log. The record goes straight to the logger's handler: Logger.LogAttrs
// would also look up the caller's program counter, which no line shows, and
// read the clock a third time.
func (s *Server) accessLog(r *request, start time.Time) {
	end := time.Now()
	latency := end.Sub(start)
	req, res := r.Request(), r.Response()
	status := res.Status
	if r.aborted && !res.Committed {
		status = 0
	}
	counted := s.unknownOperation
	if r.op != nil {
		counted = r.op.metrics
	}
	counted.Done(status, latency)
	ctx := req.Context()
	h := s.logger.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	path := req.URL.Path
	if path == "" {
		path = "/"
	}
	var id string
	if ids := res.Header()[echo.HeaderXRequestID]; len(ids) > 0 {
		id = ids[0]
	}
	record := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	record.AddAttrs(
		slog.String("method", req.Method),
		slog.String("path", cut(path)),
		slog.Int("status", status),
		slog.Duration("latency", latency),
		slog.String("request_id", id),
	)
	// A long path is cut, and its length said: a client must not grow the
	// log by what it sends.
	if len(path) > maxLoggedLength {
		record.AddAttrs(slog.Int("path_len", len(path)))
	}
	// A query may carry what must not be logged: only its length.
	if query := req.URL.RawQuery; query != "" {
		record.AddAttrs(slog.Int("query_len", len(query)))
	}
	// As Logger does: a log destination that fails does not fail the request.
	_ = h.Handle(ctx, record)
}

// maxLoggedLength is the most bytes of a request's path that a log line
// holds.
const maxLoggedLength = 256

// cut returns s, or its first maxLoggedLength bytes (never half a UTF-8
// sequence) and "...".
func cut(s string) string {
	if len(s) <= maxLoggedLength {
		return s
	}
	end := maxLoggedLength
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "..."
}

// responseHeaders gives the answer its X-Request-Id (the one the request
// carries when it is short and plain, else a new one) and the headers a
// scanner expects of a JSON API. Keys are canonical, so nothing
// canonicalises them per request, and the three values share one
// allocation.
func (s *Server) responseHeaders(c echo.Context) {
	values := make([]string, 3)
	if in := c.Request().Header[echo.HeaderXRequestID]; len(in) > 0 && plainRequestID(in[0]) {
		values[0] = in[0]
	} else {
		values[0] = s.requestIDs.next()
	}
	values[1], values[2] = "nosniff", "no-store"
	h := c.Response().Header()
	// Capacity 1 each: an Add to one of them copies, never writes into the next.
	h[echo.HeaderXRequestID] = values[0:1:1]
	h[echo.HeaderXContentTypeOptions] = values[1:2:2]
	h[echo.HeaderCacheControl] = values[2:3:3]
}

// readErrors marks the errors of reading a request body.
type readErrors struct{ io.ReadCloser }

func (r readErrors) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &bodyReadError{err: err}
	}
	return n, err
}

// bodyReadError is a failure to read the request body: too large, too slow,
// malformed chunks, or the client gone.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "read request body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// maxRequestIDLength bounds the X-Request-Id taken from a request.
const maxRequestIDLength = 64

// plainRequestID says whether a request's X-Request-Id may be echoed and
// logged: 1 to 64 characters of [A-Za-z0-9._-]. Any other is replaced, so
// that a client can neither grow the log nor write into it.
func plainRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := range len(id) {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
