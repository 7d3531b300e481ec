package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// accessLog writes one structured line per request, at INFO, once the error
// handler has answered, and counts it in the metrics. It logs no header, so no token can reach the log. The
// record goes straight to the logger's handler: Logger.LogAttrs would also
// look up the caller's program counter, which no line shows, and read the
// clock a third time.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		s.metrics.Start()
		if err := next(c); err != nil {
			c.Error(err)
		}
		end := time.Now()
		req := c.Request()
		counted := s.unknownOperation
		if op := stateOf(c).op; op != nil {
			counted = op.metrics
		}
		counted.Done(c.Response().Status, end.Sub(start))
		ctx := req.Context()
		h := s.logger.Handler()
		if !h.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		path := req.URL.Path
		if path == "" {
			path = "/"
		}
		query := req.URL.RawQuery
		res := c.Response()
		var id string
		if ids := res.Header()[echo.HeaderXRequestID]; len(ids) > 0 {
			id = ids[0]
		}
		r := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		r.AddAttrs(
			slog.String("method", req.Method),
			slog.String("path", cut(path)),
			slog.Int("status", res.Status),
			slog.Duration("latency", end.Sub(start)),
			slog.String("request_id", id),
		)
		// A long path is cut, and its length said: a client must not
		// grow the log by what it sends.
		if len(path) > maxLoggedLength {
			r.AddAttrs(slog.Int("path_len", len(path)))
		}
		// A query may carry what must not be logged: only its length.
		if query != "" {
			r.AddAttrs(slog.Int("query_len", len(query)))
		}
		// As Logger does: a log destination that fails does not fail the request.
		_ = h.Handle(ctx, r)
		return nil
	}
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

// recoverPanics turns a panic into a 500 with a generic body and logs its stack.
func (s *Server) recoverPanics() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.logger.ErrorContext(c.Request().Context(), "panic in handler",
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"error", err, "stack", string(stack))
			return fmt.Errorf("recovered panic: %w", err)
		},
	})
}

// responseHeaders gives every answer its X-Request-Id (the one the request
// carries when it is short and plain, else a new one from ids) and the headers a scanner expects of a
// JSON API. Keys are canonical, so nothing canonicalises them per request, and
// the three values share one allocation.
func responseHeaders(ids *requestIDs) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			values := make([]string, 3)
			if in := c.Request().Header[echo.HeaderXRequestID]; len(in) > 0 && plainRequestID(in[0]) {
				values[0] = in[0]
			} else {
				values[0] = ids.next()
			}
			values[1], values[2] = "nosniff", "no-store"
			h := c.Response().Header()
			// Capacity 1 each: an Add to one of them copies, never writes into the next.
			h[echo.HeaderXRequestID] = values[0:1:1]
			h[echo.HeaderXContentTypeOptions] = values[1:2:2]
			h[echo.HeaderCacheControl] = values[2:3:3]
			return next(c)
		}
	}
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
