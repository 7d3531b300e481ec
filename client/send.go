package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hzkit/sendmessage/gen/apiclient"
	"github.com/hzkit/sendmessage/gen/model"
)

// Result is what the server did for one requested session id.
type Result struct {
	// SessionID is the requested id this result is about.
	SessionID string
	// StatusCode is the HTTP status of the operation on this session:
	// 200 when the message was delivered.
	StatusCode int
	// Time is when the server acted, to the millisecond.
	Time time.Time
	// Reasons say why the operation failed; empty when it succeeded.
	Reasons []string
}

// Delivered reports whether the session was sent the message.
func (r Result) Delivered() bool { return r.StatusCode >= 200 && r.StatusCode < 300 }

// Reason returns the reasons of a failure as one string.
func (r Result) Reason() string { return strings.Join(r.Reasons, "; ") }

// Results are the per-session outcomes of one send, in request order.
type Results []Result

// Delivered returns the results of the sessions that were sent the message.
func (rs Results) Delivered() Results { return rs.filter(true) }

// Failed returns the results of the sessions that were not.
func (rs Results) Failed() Results { return rs.filter(false) }

// AllDelivered reports whether every session was sent the message.
func (rs Results) AllDelivered() bool { return len(rs.Failed()) == 0 }

func (rs Results) filter(delivered bool) Results {
	out := Results{}
	for _, r := range rs {
		if r.Delivered() == delivered {
			out = append(out, r)
		}
	}
	return out
}

// SendMessage sends one message of the given type to the sessions with the
// given ids. A 200 answer returns one Result per item the server returned, even
// when some sessions failed: check Results.Failed. Any other answer returns an
// *APIError. No ids, or an invalid type, is an ErrInvalidInput, and nothing
// is sent.
//
// SendMessage sends the request once. A client from Login sends it a second
// time only after a 401, which says the server refused the token and did
// not act, and a new login. Nothing else is retried: after a 500, 502, 504,
// a timeout or an answer lost on the way the server may have shown the
// message, and sending it again may show it twice. 429 and 503 (see
// APIError.RetryAfter) and a refused connection say it did not act.
func (c *Client) SendMessage(ctx context.Context, msgType MessageType, message string, sessionIDs []string) (Results, error) {
	if !msgType.Valid() {
		return nil, fmt.Errorf("%w: message type %q: want %s, %s or %s",
			ErrInvalidInput, msgType, MessageInfo, MessageWarning, MessageError)
	}
	if len(sessionIDs) == 0 {
		return nil, fmt.Errorf("%w: SendMessage: no session ids", ErrInvalidInput)
	}
	body := model.SendMessageToSessionsJSONRequestBody{
		Message: message, MessageType: model.SessionSendMessageSpecMessageType(msgType), SessionIDs: sessionIDs,
	}
	resp, err := c.call(ctx, func(ctx context.Context, auth apiclient.RequestEditorFn) (*http.Response, error) {
		return c.api.SendMessageToSessions(ctx, body, auth)
	})
	if err != nil {
		return nil, fmt.Errorf("send message: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, newAPIError(resp)
	}
	parsed, err := apiclient.ParseSendMessageToSessionsResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("send message: read %s answer: %w", resp.Request.URL.Redacted(), err)
	}
	if parsed.JSON200 == nil {
		return nil, fmt.Errorf("send message: %s answered 200 with Content-Type %q, not JSON",
			resp.Request.URL.Redacted(), resp.Header.Get("Content-Type"))
	}
	return toResults(*parsed.JSON200), nil
}

func toResults(items []model.BulkItemResponseInfo) Results {
	results := make(Results, len(items))
	for i, item := range items {
		results[i] = Result{
			SessionID:  item.ID,
			StatusCode: int(item.StatusCode),
			Time:       time.UnixMilli(item.Timestamp),
			Reasons:    itemReasons(item),
		}
	}
	return results
}

// itemReasons prefers error_messages and falls back to the errors[] form that
// Horizon 2203+ sends instead.
func itemReasons(item model.BulkItemResponseInfo) []string {
	if item.ErrorMessages != nil && len(*item.ErrorMessages) > 0 {
		return *item.ErrorMessages
	}
	var reasons []string
	if item.Errors != nil {
		for _, e := range *item.Errors {
			reasons = append(reasons, e.ErrorMessage)
		}
	}
	return reasons
}

// APIError is a non-200 answer from the server.
type APIError struct {
	// Method and URL identify the request.
	Method, URL string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Messages are the reasons the server gave, if it gave any.
	Messages []string
	// Keys are the error_key of each entry of the answer's errors, as
	// Horizon 2203 and later and the reference server send them: stable,
	// for a program to test, such as "unauthorized". Nil when the answer
	// had none.
	Keys []string
	// Body is the raw answer body, for diagnostics.
	Body []byte
	// Header is the answer's header, such as its Retry-After.
	Header http.Header
}

// Error names the request, the status and the server's reason.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if len(e.Messages) > 0 {
		msg += ": " + strings.Join(e.Messages, "; ")
	}
	return msg
}

// Message returns the server's first reason, or "" when it gave none.
func (e *APIError) Message() string {
	if len(e.Messages) == 0 {
		return ""
	}
	return e.Messages[0]
}

// Key returns the first error_key of the answer, or "" when it had none.
func (e *APIError) Key() string {
	if len(e.Keys) == 0 {
		return ""
	}
	return e.Keys[0]
}

// RetryAfter returns how long the server asked to wait before a request is
// tried again, and whether it asked: the Retry-After header of a 429 or 503
// answer, in seconds or as a date. A date is measured from the answer's Date
// header when it has one, so that the two clocks need not agree, else from
// now. A time already past is 0.
func (e *APIError) RetryAfter() (time.Duration, bool) {
	value := strings.TrimSpace(e.Header.Get("Retry-After"))
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds < 0 {
			return 0, false
		}
		return time.Duration(min(seconds, int64(math.MaxInt64/time.Second))) * time.Second, true
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	now := time.Now()
	if date, err := http.ParseTime(e.Header.Get("Date")); err == nil {
		now = date
	}
	return max(at.Sub(now), 0), true
}

func newAPIError(resp *http.Response) error {
	apiErr := &APIError{
		Method: resp.Request.Method, URL: resp.Request.URL.Redacted(), StatusCode: resp.StatusCode,
		Header: resp.Header,
	}
	body, err := io.ReadAll(resp.Body)
	apiErr.Body = body
	if err != nil {
		return fmt.Errorf("%w (reading the body failed: %w)", apiErr, err)
	}
	apiErr.Messages, apiErr.Keys = readErrorBody(body)
	return apiErr
}

// readErrorBody reads the reasons out of any error body a Horizon server
// sends (error_messages, error_message or errors[].error_message) and the
// keys of errors[].
func readErrorBody(body []byte) (messages, keys []string) {
	var parsed model.ErrorResponse
	if json.Unmarshal(body, &parsed) != nil {
		return nil, nil
	}
	for _, e := range parsed.Errors {
		if e.ErrorKey != "" {
			keys = append(keys, e.ErrorKey)
		}
	}
	switch {
	case len(parsed.ErrorMessages) > 0:
		return parsed.ErrorMessages, keys
	case parsed.ErrorMessage != "":
		return []string{parsed.ErrorMessage}, keys
	}
	for _, e := range parsed.Errors {
		if e.ErrorMessage != "" {
			messages = append(messages, e.ErrorMessage)
		}
	}
	return messages, keys
}
