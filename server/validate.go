package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
	"github.com/oapi-codegen/runtime"

	"github.com/hzkit/sendmessage/server/internal/jsontext"
)

// validate checks a request against the spec, after the gate. A request of
// an operation the fast path handles, and whose body it is sure of, goes to
// the handler with the fast path's typed value; any other is checked by
// kin-openapi's validator against the operation begin found, with the
// validator's options, then by the spec's x-requires, and by strictJSON's
// rules: its body one JSON value, in UTF-8. Requests outside the spec get 404 or 405.
func (s *Server) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := stateOf(c)
		if r.op == nil {
			return s.outsideSpec(r)
		}
		if r.op.fast != nil {
			if value, ok := r.op.fast.Accept(r.Request()); ok {
				r.decoded = value
				return next(r)
			}
		}
		if err := s.validateRequest(r); err != nil {
			return err
		}
		return next(r)
	}
}

// validateRequest is the generic validator's check of r.
func (s *Server) validateRequest(r *request) error {
	req := r.Request()
	if r.body != nil {
		if err := r.body.decoding(); err != nil {
			return s.noRoom(r)
		}
	}
	if isJSON(req.Header.Get(echo.HeaderContentType)) && req.Body != nil && req.Body != http.NoBody {
		r.raw = &recordingBody{ReadCloser: req.Body}
		req.Body = r.raw
	}
	input := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: pathParams(r), Route: r.op.route,
		Options: &s.validation, ParamDecoder: s.paramDecoder,
	}
	// The AuthenticationFunc finds what the gate found of the token here.
	ctx := context.WithValue(req.Context(), requestKey{}, r)
	if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
		return s.validationError(r, validatorError(err))
	}
	// What OpenAPI 3.0 cannot say of the query, the spec says with x-requires.
	if err := checkRequirements(r.op.requires, req.URL.Query()); err != nil {
		return err
	}
	if kept, ok := req.Body.(interface{ ValidatedValue() any }); ok {
		r.validated = kept.ValidatedValue()
		// Only a body the spec declares, once accepted: a bad token gets
		// its 401 first.
		if r.raw != nil {
			if err := jsontext.Check(r.raw.read.Bytes()); err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "request body: "+err.Error())
			}
		}
	}
	return nil
}

// requestKey holds, in the context the validator is given, the request's
// state.
type requestKey struct{}

// pathParams are the request's path parameters, by the names the spec
// gives them (echo's route uses the same).
func pathParams(r *request) map[string]string {
	names := r.ParamNames()
	if len(names) == 0 {
		return nil
	}
	params := make(map[string]string, len(names))
	for i, name := range names {
		params[name] = r.ParamValues()[i]
	}
	return params
}

// validatorError is what the validator's error says, as an answer: 400 for
// a request that breaks the spec, the AuthenticationFunc's own answer, or
// 403, as echo-middleware answers them.
func validatorError(err error) *echo.HTTPError {
	var multi openapi3.MultiError
	var reqErr *openapi3filter.RequestError
	var secErr *openapi3filter.SecurityRequirementsError
	switch {
	// A request error first, though a oneOf's alternatives inside it are a
	// MultiError too: it says where in the request the error is.
	case errors.As(err, &reqErr):
		first, _, _ := strings.Cut(reqErr.Error(), "\n")
		return &echo.HTTPError{Code: http.StatusBadRequest, Message: first, Internal: err}
	case errors.As(err, &multi):
		return &echo.HTTPError{Code: http.StatusBadRequest, Message: multi.Error(), Internal: multi}
	case errors.As(err, &secErr):
		for _, e := range secErr.Errors {
			var httpErr *echo.HTTPError
			if errors.As(e, &httpErr) {
				return httpErr
			}
		}
		return &echo.HTTPError{Code: http.StatusForbidden, Message: secErr.Error(), Internal: err}
	}
	return &echo.HTTPError{Code: http.StatusInternalServerError, Message: fmt.Sprintf("error validating request: %s", err), Internal: err}
}

// outsideSpec answers a request for a path or a method the spec does not
// have: 405 with Allow when the spec has the path, else 404.
func (s *Server) outsideSpec(r *request) error {
	if allow := s.allowed.header(r.Request()); allow != "" {
		r.Response().Header().Set(echo.HeaderAllow, allow)
		return echo.NewHTTPError(http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: use %s", r.Request().Method, allow))
	}
	return echo.NewHTTPError(http.StatusNotFound, routers.ErrPathNotFound.Error())
}

// bind binds the request's body into i, a pointer to the generated body type:
// the fast path's value, or the one the validator kept. Nothing decodes a
// body twice.
func (r *request) bind(i any) error {
	if r.decoded != nil && reflect.TypeOf(r.decoded) == reflect.TypeOf(i) {
		reflect.ValueOf(i).Elem().Set(reflect.ValueOf(r.decoded).Elem())
		return nil
	}
	if r.validated != nil {
		if err := runtime.BindJSONValue(r.validated, i); err != nil {
			return fmt.Errorf("bind the validated body: %w", err)
		}
		return nil
	}
	return (&echo.DefaultBinder{}).BindBody(r, i)
}

// Bind implements echo.Context: the generated handler binds the body with it
// when echo's Binder is not the default one. It asks echo's Binder with the
// request's state, which the embedded context's Bind would not pass on.
func (r *request) Bind(i any) error { return r.Echo().Binder.Bind(i, r) }

// stateBinder is echo's Binder: it binds from the request's state.
type stateBinder struct{}

func (stateBinder) Bind(i any, c echo.Context) error { return stateOf(c).bind(i) }

// isJSON says whether the validator decodes a body of this Content-Type as
// JSON: it ignores parameters and case, as kin-openapi does.
func isJSON(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	return mediaType == echo.MIMEApplicationJSON || strings.HasSuffix(mediaType, "+json")
}

// recordingBody keeps a copy of what is read through it, for strictJSON's
// rules, which the validator's decoder does not apply.
type recordingBody struct {
	io.ReadCloser
	read bytes.Buffer
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Write(p[:n])
	return n, err
}
