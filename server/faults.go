package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/contract"
	"github.com/hzkit/sendmessage/server/internal/delivery"
	"github.com/hzkit/sendmessage/server/internal/faults"
)

// faultOperations are the operations fault rules may name. What their
// requests carry for a rule to match is what faultRequest reads, and the
// spec's FaultRule allows session_ids, username and fail_sessions on the same
// operations (TestFaultRulesFitWhatRequestsCarry).
var faultOperations = []string{
	"login", "refreshAccessToken", "logout", "listSessions", "getSession", "sendMessageToSessions",
}

// FaultRuleError is a fault rule of Config.Faults that its operation does not
// allow: Index is its place in Faults, Pointer a JSON pointer into it.
type FaultRuleError struct {
	Index   int
	Pointer string
	Reason  string
}

func (e *FaultRuleError) Error() string {
	return fmt.Sprintf("server: fault rule %d: %s: %s", e.Index, e.Pointer, e.Reason)
}

// newFaults returns the fault engine for doc, with rules in force.
func newFaults(doc *openapi3.T, rules []model.FaultRule, limits Limits) (*faults.Engine, map[string]string, error) {
	ops, err := faults.Operations(doc, faultOperations)
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	engine := faults.New(ops, faults.Limits{MaxRules: limits.MaxFaultRules, MaxDelay: limits.MaxFaultDelay})
	schema, err := contract.Schema(doc, faultRuleSchema)
	if err != nil {
		return nil, nil, err
	}
	for i, rule := range rules {
		// Rules given in Go, not read from a data file, meet the schema here.
		if err := checkRule(schema, rule); err != nil {
			return nil, nil, &FaultRuleError{Index: i, Pointer: err.Pointer, Reason: err.Reason}
		}
		if _, err := engine.Add(rule); err != nil {
			var ruleErr *faults.RuleError
			if errors.As(err, &ruleErr) {
				return nil, nil, &FaultRuleError{Index: i, Pointer: ruleErr.Pointer, Reason: ruleErr.Reason}
			}
			if errors.Is(err, faults.ErrFull) {
				return nil, nil, &FaultRuleError{Index: i, Pointer: "", Reason: fmt.Sprintf("more than %d fault rules (-max-fault-rules)", limits.MaxFaultRules)}
			}
			return nil, nil, fmt.Errorf("server: fault rule %d: %w", i, err)
		}
	}
	// The strict middleware knows operations by the generated methods'
	// names: sendMessageToSessions is SendMessageToSessions.
	byGoName := make(map[string]string, len(faultOperations))
	for _, op := range faultOperations {
		byGoName[goName(op)] = op
	}
	return engine, byGoName, nil
}

// faultRuleSchema is the spec's schema of a fault rule.
const faultRuleSchema = "FaultRule"

// checkRule holds rule against the spec's FaultRule.
func checkRule(schema *openapi3.Schema, rule model.FaultRule) *faults.RuleError {
	raw, err := rule.MarshalJSON()
	var value any
	if err == nil {
		decoder := json.NewDecoder(bytes.NewReader(raw))
		decoder.UseNumber()
		err = decoder.Decode(&value)
	}
	if err != nil {
		return &faults.RuleError{Pointer: "", Reason: "not a JSON object: " + err.Error()}
	}
	if err := schema.VisitJSON(value, openapi3.DisableSchemaErrorDetails()); err != nil {
		pointer, reason, found := strings.Cut(contract.DescribeSchemaError(err), ": ")
		if !found || !strings.HasPrefix(pointer, "/") {
			pointer, reason = "", contract.DescribeSchemaError(err)
		}
		return &faults.RuleError{Pointer: pointer, Reason: reason}
	}
	return nil
}

// injectFaults is the strict middleware of fault injection. It runs after
// the token and the request have been checked and the body bound, so a fault
// never meets a request that would be refused; for an operation that no rule
// names it adds nothing to the request.
func (s *Server) injectFaults(f apiserver.StrictHandlerFunc, operationID string) apiserver.StrictHandlerFunc {
	op, ok := s.faultOps[operationID]
	if !ok || !s.faults.Active(op) {
		return f
	}
	return func(c echo.Context, request any) (any, error) {
		d := s.faults.Decide(op, faultRequest(request), func() bool { return s.handlers.accepts(request) })
		if d == nil {
			return f(c, request)
		}
		return s.applyFault(c, f, request, op, d)
	}
}

// faultRequest is what request carries for fault rules to match.
func faultRequest(request any) faults.Request {
	switch r := request.(type) {
	case apiserver.SendMessageToSessionsRequestObject:
		return faults.Request{SessionIDs: r.Body.SessionIDs}
	case apiserver.GetSessionRequestObject:
		return faults.Request{SessionIDs: []string{r.ID}}
	case apiserver.LoginRequestObject:
		return faults.Request{Username: r.Body.Username}
	}
	return faults.Request{}
}

// applyFault does what d says to the request: act on it or not, wait, then
// answer as usual, answer the rule's status, or close the connection.
func (s *Server) applyFault(c echo.Context, f apiserver.StrictHandlerFunc, request any, op string, d *faults.Decision) (any, error) {
	req := c.Request()
	ctx := req.Context()
	s.logger.LogAttrs(ctx, slog.LevelInfo, "fault",
		slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.String("fault_id", d.ID), slog.String("operation", op), slog.String("action", string(d.Action())),
		slog.Duration("delay", d.Delay))
	// A read (GET) changes nothing: its answer is made when it is due,
	// not held finished through the delay.
	readOnly := req.Method == http.MethodGet || req.Method == http.MethodHead
	if d.Delay > 0 && readOnly {
		s.sleep(ctx, d.Delay)
	}
	var response any
	if d.Acts() {
		c.SetRequest(req.WithContext(context.WithValue(ctx, faultKey{}, d)))
		var err error
		if response, err = f(c, request); err != nil {
			return nil, err
		}
	}
	if d.Delay > 0 && !readOnly {
		// A client that goes away ends the wait: nobody hears the answer.
		s.sleep(ctx, d.Delay)
	}
	if d.Closes() {
		// net/http closes the connection without an answer (HTTP/2: resets
		// the stream); echo's recover middleware lets this panic through.
		panic(http.ErrAbortHandler)
	}
	if status, key, message, retryAfter, ok := d.Answer(); ok {
		return newFaultAnswer(status, key, message, retryAfter), nil
	}
	return response, nil
}

// faultKey holds, in a request's context, the decision of the fault rule
// that acts on it.
type faultKey struct{}

// deliveryFault is what the fault acting on the request of ctx, if any,
// changes in a send.
func deliveryFault(ctx context.Context) *delivery.Fault {
	d, ok := ctx.Value(faultKey{}).(*faults.Decision)
	if !ok {
		return nil
	}
	fault := &delivery.Fault{Fail: d.Fail}
	if d.HidesActing() {
		fault.ID = d.ID
	}
	return fault
}

// sleepContext waits for d, or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// faultAnswer is the answer of a respond rule: the spec's ErrorResponse with
// the rule's status. It is an answer of every operation a rule may name;
// the rule was checked against what each declares.
type faultAnswer struct {
	status     int
	body       model.ErrorResponse
	retryAfter int // -1: no Retry-After
}

var (
	_ apiserver.LoginResponseObject                 = faultAnswer{}
	_ apiserver.RefreshAccessTokenResponseObject    = faultAnswer{}
	_ apiserver.LogoutResponseObject                = faultAnswer{}
	_ apiserver.ListSessionsResponseObject          = faultAnswer{}
	_ apiserver.GetSessionResponseObject            = faultAnswer{}
	_ apiserver.SendMessageToSessionsResponseObject = faultAnswer{}
)

// Reasons of fault answers whose rule gives none, by status; other statuses
// say their status text.
var faultMessages = map[int]string{
	http.StatusTooManyRequests:     "too many requests: retry later",
	http.StatusInternalServerError: internalErrorMessage,
	http.StatusServiceUnavailable:  "service unavailable: retry later",
}

func newFaultAnswer(status int, key, message string, retryAfter int) faultAnswer {
	if message == "" {
		message = faultMessages[status]
		if message == "" {
			message = strings.ToLower(http.StatusText(status))
		}
	}
	body := errorBody(status, message)
	if key != "" {
		body = errorBodyWithKey(key, message)
	}
	return faultAnswer{status: status, body: body, retryAfter: retryAfter}
}

func (a faultAnswer) write(w http.ResponseWriter) error {
	h := w.Header()
	if a.retryAfter >= 0 {
		h.Set("Retry-After", strconv.Itoa(a.retryAfter))
	}
	if a.status == http.StatusUnauthorized {
		h.Set(echo.HeaderWWWAuthenticate, "Bearer")
	}
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.WriteHeader(a.status)
	if err := json.NewEncoder(w).Encode(a.body); err != nil {
		return fmt.Errorf("write fault answer: %w", err)
	}
	return nil
}

// VisitLoginResponse implements apiserver.LoginResponseObject.
func (a faultAnswer) VisitLoginResponse(w http.ResponseWriter) error { return a.write(w) }

// VisitRefreshAccessTokenResponse implements apiserver.RefreshAccessTokenResponseObject.
func (a faultAnswer) VisitRefreshAccessTokenResponse(w http.ResponseWriter) error { return a.write(w) }

// VisitLogoutResponse implements apiserver.LogoutResponseObject.
func (a faultAnswer) VisitLogoutResponse(w http.ResponseWriter) error { return a.write(w) }

// VisitListSessionsResponse implements apiserver.ListSessionsResponseObject.
func (a faultAnswer) VisitListSessionsResponse(w http.ResponseWriter) error { return a.write(w) }

// VisitGetSessionResponse implements apiserver.GetSessionResponseObject.
func (a faultAnswer) VisitGetSessionResponse(w http.ResponseWriter) error { return a.write(w) }

// VisitSendMessageToSessionsResponse implements
// apiserver.SendMessageToSessionsResponseObject.
func (a faultAnswer) VisitSendMessageToSessionsResponse(w http.ResponseWriter) error {
	return a.write(w)
}
