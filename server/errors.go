package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/contract"
	"github.com/hzkit/sendmessage/server/internal/jsontext"
	"github.com/hzkit/sendmessage/server/internal/metrics"
)

// errorKeys are the stable error_key values of ErrorResponse, by status.
var errorKeys = map[int]string{
	http.StatusBadRequest:            "bad.request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not.found",
	http.StatusConflict:              "conflict",
	http.StatusMethodNotAllowed:      "method.not.allowed",
	http.StatusRequestTimeout:        "request.timeout",
	http.StatusRequestEntityTooLarge: "payload.too.large",
	http.StatusTooManyRequests:       "too.many.requests",
	http.StatusServiceUnavailable:    "service.unavailable",
	http.StatusInternalServerError:   "internal.error",
	http.StatusBadGateway:            "bad.gateway",
	http.StatusGatewayTimeout:        "gateway.timeout",
}

const internalErrorMessage = "internal server error"

// answerGrace is the time an answer to a body that did not arrive in time
// has to be written.
const answerGrace = 5 * time.Second

// handleError is echo's single error exit: every error becomes the spec's
// ErrorResponse. 5xx answers never carry internal detail; they are logged.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, message := http.StatusInternalServerError, internalErrorMessage
	var httpErr *echo.HTTPError
	if errors.As(err, &httpErr) && (httpErr.Code < http.StatusInternalServerError || httpErr.Code == http.StatusServiceUnavailable) {
		status, message = httpErr.Code, fmt.Sprint(httpErr.Message)
	} else {
		s.logger.ErrorContext(c.Request().Context(), "request failed",
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Bearer")
	}
	body := errorBody(status, message)
	var writeErr error
	if c.Request().Method == http.MethodHead {
		writeErr = c.NoContent(status)
	} else {
		writeErr = c.JSON(status, body)
	}
	if writeErr != nil {
		s.logger.WarnContext(c.Request().Context(), "writing error response failed", "error", writeErr)
	}
}

// errorBody is the spec's ErrorResponse for status with one reason, in the
// three forms Horizon clients read.
func errorBody(status int, message string) model.ErrorResponse {
	key, ok := errorKeys[status]
	if !ok {
		key = "error"
	}
	return errorBodyWithKey(key, message)
}

// errorBodyWithKey is the spec's ErrorResponse with one reason and its own
// error_key.
func errorBodyWithKey(key, message string) model.ErrorResponse {
	return model.ErrorResponse{
		ErrorMessage:  message,
		ErrorMessages: []string{message},
		Errors:        []model.APIError{{ErrorKey: key, ErrorMessage: message}},
	}
}

// unauthorizedBody is the spec's Unauthorized answer, as handleError writes it.
func unauthorizedBody(err error) apiserver.UnauthorizedJSONResponse {
	scheme := "Bearer"
	return apiserver.UnauthorizedJSONResponse{
		Body:    errorBody(http.StatusUnauthorized, err.Error()),
		Headers: apiserver.UnauthorizedResponseHeaders{WWWAuthenticate: &scheme},
	}
}

// validationError rewrites the validator's errors into answers that name the
// problem in the request's own terms.
func (s *Server) validationError(r *request, err *echo.HTTPError) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err.Internal, &tooLarge) {
		s.metrics.Refused(metrics.LimitBodySize)
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit))
	}
	// The validator reads the body, also to authenticate; when reading fails
	// it answers 400 or 403 with the network error's text. Neither says what
	// happened, and the text names internal addresses. What is left of the
	// body cannot be told from a next request: the connection must close.
	var readErr *bodyReadError
	if errors.As(err.Internal, &readErr) && errors.Is(readErr, errNoRoom) {
		return s.noRoom(r)
	}
	if errors.As(err.Internal, &readErr) && errors.Is(readErr, errTokenEnded) {
		return echo.NewHTTPError(http.StatusUnauthorized, errTokenEnded.Error())
	}
	if errors.As(err.Internal, &readErr) {
		r.Response().Header().Set(echo.HeaderConnection, "close")
		var netErr net.Error
		if errors.As(readErr, &netErr) && netErr.Timeout() {
			s.metrics.Refused(metrics.LimitBodyTimeout)
			// The read deadline has passed, and the write deadline, set at
			// the same time, passes with it: the 408 gets time of its own
			// to reach the client before the connection closes.
			_ = http.NewResponseController(r.Response()).SetWriteDeadline(time.Now().Add(answerGrace))
			return echo.NewHTTPError(http.StatusRequestTimeout,
				"request body not received within the server's read timeout").SetInternal(readErr)
		}
		return echo.NewHTTPError(http.StatusBadRequest, "request body could not be read").SetInternal(readErr)
	}
	var reqErr *openapi3filter.RequestError
	if errors.As(err.Internal, &reqErr) {
		// A body that is not one JSON value in UTF-8 was decoded into another
		// value than the one sent (U+FFFD for bad bytes): what the validator
		// says of that value would mislead. strictJSON says what is wrong.
		if raw := r.raw; raw != nil && reqErr.RequestBody != nil {
			if jsonErr := jsontext.Check(raw.read.Bytes()); jsonErr != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "request body: "+jsonErr.Error()).SetInternal(reqErr)
			}
		}
		return echo.NewHTTPError(err.Code, describeRequestError(reqErr)).SetInternal(reqErr)
	}
	// A value that matches no branch of a oneOf comes as the branches' errors
	// alone, without the request error around them.
	var multi openapi3.MultiError
	if errors.As(err.Internal, &multi) {
		return echo.NewHTTPError(http.StatusBadRequest, "request: "+contract.DescribeAlternatives(multi)).SetInternal(multi)
	}
	return err
}

// describeRequestError says where the request is wrong: `request body:
// /message_type: value is not one of the allowed values [...]`.
func describeRequestError(err *openapi3filter.RequestError) string {
	where := "request"
	switch {
	case err.Parameter != nil:
		where = fmt.Sprintf("%s parameter %q", err.Parameter.In, err.Parameter.Name)
	case err.RequestBody != nil:
		where = "request body"
	}
	if err.Err == nil {
		return where + ": " + err.Reason
	}
	return where + ": " + contract.DescribeSchemaError(err.Err)
}
