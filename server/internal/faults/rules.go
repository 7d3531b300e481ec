package faults

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/gen/model"
)

// Component names of the spec that rules are read against.
const (
	operationSchema = "FaultOperation"
	errorSchemaRef  = "#/components/schemas/ErrorResponse"
	jsonMediaType   = "application/json"
)

// Action is what a rule does: the discriminator of the spec's FaultRule.
type Action string

// The actions, as the spec names them.
const (
	Respond           = Action(model.RespondFaultRuleActionRespond)
	FailSessions      = Action(model.FailSessionsFaultRuleActionFailSessions)
	Delay             = Action(model.DelayFaultRuleActionDelay)
	CloseBeforeActing = Action(model.CloseBeforeActingFaultRuleActionCloseBeforeActing)
	CloseAfterActing  = Action(model.CloseAfterActingFaultRuleActionCloseAfterActing)
)

// Operation is what rules for one operation may do that the schema cannot
// say.
type Operation struct {
	// Statuses are those a respond rule may answer: the error statuses the
	// operation declares with an ErrorResponse body.
	Statuses map[int]bool
}

// Operations reads from doc what rules may do to each operation that
// FaultOperation names. names must be exactly those operations: the server
// knows what their requests carry.
func Operations(doc *openapi3.T, names []string) (map[string]Operation, error) {
	ref := doc.Components.Schemas[operationSchema]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("faults: spec has no %s schema", operationSchema)
	}
	named := map[string]bool{}
	for _, v := range ref.Value.Enum {
		name, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("faults: %s: enum value %v is not a string", operationSchema, v)
		}
		named[name] = true
	}
	if want := slices.Sorted(slices.Values(names)); !slices.Equal(want, slices.Sorted(maps.Keys(named))) {
		return nil, fmt.Errorf("faults: %s names %v; the server knows the requests of %v",
			operationSchema, slices.Sorted(maps.Keys(named)), want)
	}
	ops := make(map[string]Operation, len(named))
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !named[op.OperationID] {
				continue
			}
			statuses := map[int]bool{}
			for code, resp := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil || status < 400 || status > 599 || resp.Value == nil {
					continue
				}
				media := resp.Value.Content.Get(jsonMediaType)
				if media != nil && media.Schema != nil && media.Schema.Ref == errorSchemaRef {
					statuses[status] = true
				}
			}
			ops[op.OperationID] = Operation{Statuses: statuses}
		}
	}
	for name := range named {
		if _, ok := ops[name]; !ok {
			return nil, fmt.Errorf("faults: %s names %s, which the spec does not have", operationSchema, name)
		}
	}
	return ops, nil
}

// RuleError says what is wrong with a rule, and where: Pointer is a JSON
// pointer into the rule, such as /status.
type RuleError struct {
	Pointer string
	Reason  string
}

func (e *RuleError) Error() string { return e.Pointer + ": " + e.Reason }

func ruleErr(pointer, format string, args ...any) *RuleError {
	return &RuleError{Pointer: pointer, Reason: fmt.Sprintf(format, args...)}
}

// parsed is a rule as the engine uses it; the rule as given is kept to be
// listed.
type parsed struct {
	spec        model.FaultRule
	operation   string
	action      Action
	sessions    map[string]bool // nil: every request, every session
	username    string          // lower case; "": every login
	status      int
	errorKey    string
	message     string
	retryAfter  int // -1: none
	afterActing bool
	itemStatus  int32
	delay       time.Duration
	delayMax    time.Duration // > delay: drawn from [delay, delayMax]
	times       int64         // 0: no limit
	probability float64       // < 0: always
	seed        int64
}

// Defaults of fail_sessions.
const (
	// DefaultItemStatus is the status_code of a failed item.
	DefaultItemStatus = 500
	// DefaultItemErrorKey is the error_key of a failed item.
	DefaultItemErrorKey = "session.agent.no.answer"
)

// parse reads a rule that the spec's FaultRule has checked, and checks what
// the schema cannot say: which statuses the operation declares, and that
// delay_max_ms is not below delay_ms.
func parse(ops map[string]Operation, rule model.FaultRule) (*parsed, error) {
	v, err := rule.ValueByDiscriminator()
	if err != nil { // the validator refuses it first
		return nil, ruleErr("/action", "%v", err)
	}
	p := &parsed{spec: rule, retryAfter: -1, itemStatus: DefaultItemStatus, probability: -1}
	switch r := v.(type) {
	case model.RespondFaultRule:
		err = p.common(string(r.Operation), r.SessionIDs, r.Username, r.DelayMs, r.DelayMaxMs, r.Times, r.Probability, r.Seed)
		p.action, p.status, p.afterActing = Respond, int(r.Status), deref(r.AfterActing)
		p.errorKey, p.message = deref(r.ErrorKey), deref(r.ErrorMessage)
		if r.RetryAfterSeconds != nil {
			p.retryAfter = int(*r.RetryAfterSeconds)
		}
	case model.FailSessionsFaultRule:
		err = p.common(string(r.Operation), r.SessionIDs, nil, r.DelayMs, r.DelayMaxMs, r.Times, r.Probability, r.Seed)
		p.action, p.errorKey, p.message = FailSessions, cmp.Or(deref(r.ErrorKey), DefaultItemErrorKey), deref(r.ErrorMessage)
		if r.ItemStatus != nil {
			p.itemStatus = *r.ItemStatus
		}
	case model.DelayFaultRule:
		err = p.common(string(r.Operation), r.SessionIDs, r.Username, &r.DelayMs, r.DelayMaxMs, r.Times, r.Probability, r.Seed)
		p.action = Delay
	case model.CloseBeforeActingFaultRule:
		err = p.common(string(r.Operation), r.SessionIDs, r.Username, r.DelayMs, r.DelayMaxMs, r.Times, r.Probability, r.Seed)
		p.action = CloseBeforeActing
	case model.CloseAfterActingFaultRule:
		err = p.common(string(r.Operation), r.SessionIDs, r.Username, r.DelayMs, r.DelayMaxMs, r.Times, r.Probability, r.Seed)
		p.action = CloseAfterActing
	default:
		return nil, ruleErr("/action", "no rule of type %T", v)
	}
	if err != nil {
		return nil, err
	}
	op, ok := ops[p.operation]
	if !ok { // the validator refuses it first
		return nil, ruleErr("/operation", "%q is not an operation a rule may name", p.operation)
	}
	if p.action == Respond && !op.Statuses[p.status] {
		return nil, ruleErr("/status", "%s does not declare %d; it declares %s", p.operation, p.status, statusList(op.Statuses))
	}
	return p, nil
}

// common reads the members that rules of every action may have, and checks
// that delay_max_ms is not below delay_ms.
func (p *parsed) common(operation string, sessionIDs *[]string, username *string, delay, delayMax, times *int32, probability *float64, seed *int64) error {
	p.operation = operation
	if sessionIDs != nil {
		p.sessions = make(map[string]bool, len(*sessionIDs))
		for _, id := range *sessionIDs {
			p.sessions[id] = true
		}
	}
	p.username = strings.ToLower(deref(username))
	p.delay = time.Duration(deref(delay)) * time.Millisecond
	p.delayMax = time.Duration(deref(delayMax)) * time.Millisecond
	p.times = int64(deref(times))
	if probability != nil {
		p.probability = *probability
	}
	p.seed = deref(seed)
	if delayMax != nil && *delayMax < deref(delay) {
		return ruleErr("/delay_max_ms", "%d is below delay_ms %d", *delayMax, deref(delay))
	}
	return nil
}

// statusList lists the statuses.
func statusList(statuses map[int]bool) string {
	var out []string
	for _, status := range slices.Sorted(maps.Keys(statuses)) {
		out = append(out, strconv.Itoa(status))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
