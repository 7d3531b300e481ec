package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// accessLog writes one structured line per request, at INFO, once the error
// handler has answered. It logs no header, so no token can reach the log. The
// record goes straight to the logger's handler: Logger.LogAttrs would also
// look up the caller's program counter, which no line shows, and read the
// clock a third time.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		req := c.Request()
		ctx := req.Context()
		h := s.logger.Handler()
		if !h.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		end := time.Now()
		path := req.URL.Path
		if path == "" {
			path = "/"
		}
		res := c.Response()
		var id string
		if ids := res.Header()[echo.HeaderXRequestID]; len(ids) > 0 {
			id = ids[0]
		}
		r := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		r.AddAttrs(
			slog.String("method", req.Method),
			slog.String("path", path),
			slog.Int("status", res.Status),
			slog.Duration("latency", end.Sub(start)),
			slog.String("request_id", id),
		)
		// As Logger does: a log destination that fails does not fail the request.
		_ = h.Handle(ctx, r)
		return nil
	}
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
// carries, else a new one from ids) and the headers a scanner expects of a
// JSON API. Keys are canonical, so nothing canonicalises them per request, and
// the three values share one allocation.
func responseHeaders(ids *requestIDs) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			values := make([]string, 3)
			if in := c.Request().Header[echo.HeaderXRequestID]; len(in) > 0 && in[0] != "" {
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

// limitBody refuses bodies over limit bytes with 413: at once when the length
// is declared, else when reading passes it (the validator reads the body first).
// Read errors come out as *bodyReadError, so that validationError can tell them
// from what the validator says of the request.
func limitBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
					fmt.Sprintf("request body is larger than %d bytes", limit))
			}
			req.Body = readErrors{http.MaxBytesReader(c.Response(), req.Body, limit)}
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
