package server

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/server/internal/jsontext"
)

// strictJSON wraps the spec validator so that it also refuses two things its
// JSON decoder lets through: text that is not UTF-8, which the decoder turns
// into U+FFFD so that an altered message would be delivered, and data after the
// JSON value, which it ignores so that `{...} {}` would be served as `{...}`.
// It checks the bytes the validator read once the validator has accepted them:
// a bad token still gets its 401 first, and only bodies the spec declares are
// checked. A body it lets the validator decode is charged what decoding
// costs first (see budgetedBody.decoding).
func (s *Server) strictJSON(validator echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		validated := validator(next)
		// Built once: the copy of the body travels in the context, not in a
		// closure made per request.
		checked := validator(func(c echo.Context) error {
			// With KeepValidatedValue the validator leaves this mark when it
			// decoded a body the spec declares; it reads others too (to
			// authenticate), but they go unused.
			if _, decoded := c.Request().Body.(interface{ ValidatedValue() any }); decoded {
				if raw := stateOf(c).raw; raw != nil {
					if err := jsontext.Check(raw.read.Bytes()); err != nil {
						return echo.NewHTTPError(http.StatusBadRequest, "request body: "+err.Error())
					}
				}
			}
			return next(c)
		})
		return func(c echo.Context) error {
			r := stateOf(c)
			if r.body != nil {
				if err := r.body.decoding(); err != nil {
					return s.noRoom(c)
				}
			}
			req := c.Request()
			if !isJSON(req.Header.Get(echo.HeaderContentType)) {
				return validated(c)
			}
			r.raw = &recordingBody{ReadCloser: req.Body}
			req.Body = r.raw
			return checked(r)
		}
	}
}

// isJSON says whether the validator decodes a body of this Content-Type as
// JSON: it ignores parameters and case, as kin-openapi does.
func isJSON(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	return mediaType == echo.MIMEApplicationJSON || strings.HasSuffix(mediaType, "+json")
}

// recordingBody keeps a copy of what is read through it.
type recordingBody struct {
	io.ReadCloser
	read bytes.Buffer
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Write(p[:n])
	return n, err
}
