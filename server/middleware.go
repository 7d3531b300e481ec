package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// accessLog writes one structured line per request. It logs no header, so no
// token can reach the log.
func (s *Server) accessLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError:  true,
		LogMethod:    true,
		LogURIPath:   true,
		LogStatus:    true,
		LogLatency:   true,
		LogRequestID: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			s.logger.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID),
			)
			return nil
		},
	})
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

// securityHeaders sets what a scanner expects of a JSON API.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set(echo.HeaderCacheControl, "no-store")
		return next(c)
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
