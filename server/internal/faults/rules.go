package faults

import (
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
	ruleSchema     = "FaultRule"
	errorSchemaRef = "#/components/schemas/ErrorResponse"
	retryAfter     = "Retry-After"
	jsonMediaType  = "application/json"
)

// Inputs says what the requests of an operation carry for rules to match.
type Inputs struct {
	// SessionIDs: the requests name sessions, so session_ids may narrow a rule.
	SessionIDs bool
	// Username: the requests carry a user name, so username may narrow a rule.
	Username bool
	// FailSessions: the answer has an item per session, so fail_sessions applies.
	FailSessions bool
}

// Operation is what rules for one operation may do.
type Operation struct {
	Inputs
	// Statuses are those a respond rule may answer: the error statuses the
	// operation declares with an ErrorResponse body, each true when its
	// answer declares Retry-After.
	Statuses map[int]bool
}

// Operations reads from doc what rules may do to each operation that
// FaultRule.operation names. inputs must name exactly those operations.
func Operations(doc *openapi3.T, inputs map[string]Inputs) (map[string]Operation, error) {
	ref := doc.Components.Schemas[ruleSchema]
	if ref == nil || ref.Value == nil || ref.Value.Properties["operation"] == nil || ref.Value.Properties["operation"].Value == nil {
		return nil, fmt.Errorf("faults: spec has no %s schema with an operation property", ruleSchema)
	}
	named := map[string]bool{}
	for _, v := range ref.Value.Properties["operation"].Value.Enum {
		name, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("faults: %s.operation: enum value %v is not a string", ruleSchema, v)
		}
		named[name] = true
	}
	if want := slices.Sorted(maps.Keys(inputs)); !slices.Equal(want, slices.Sorted(maps.Keys(named))) {
		return nil, fmt.Errorf("faults: %s.operation names %v; the server knows the requests of %v",
			ruleSchema, slices.Sorted(maps.Keys(named)), want)
	}
	ops := make(map[string]Operation, len(named))
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			in, ok := inputs[op.OperationID]
			if !ok {
				continue
			}
			statuses := map[int]bool{}
			for code, resp := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil || status < 400 || status > 599 || resp.Value == nil {
					continue
				}
				media := resp.Value.Content.Get(jsonMediaType)
				if media == nil || media.Schema == nil || media.Schema.Ref != errorSchemaRef {
					continue
				}
				statuses[status] = resp.Value.Headers[retryAfter] != nil
			}
			ops[op.OperationID] = Operation{Inputs: in, Statuses: statuses}
		}
	}
	for name := range named {
		if _, ok := ops[name]; !ok {
			return nil, fmt.Errorf("faults: %s.operation names %s, which the spec does not have", ruleSchema, name)
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
	action      model.FaultRuleAction
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

// parse checks rule against what ops allow, beyond what the schema says.
func parse(ops map[string]Operation, rule model.FaultRule) (*parsed, error) {
	op, ok := ops[string(rule.Operation)]
	if !ok {
		return nil, ruleErr("/operation", "%q is not an operation a rule may name; they are %s",
			rule.Operation, quoteAll(slices.Sorted(maps.Keys(ops))))
	}
	p := &parsed{
		spec: rule, operation: string(rule.Operation), action: rule.Action,
		retryAfter: -1, itemStatus: DefaultItemStatus, errorKey: deref(rule.ErrorKey), message: deref(rule.ErrorMessage),
		probability: -1, seed: deref(rule.Seed),
	}
	if rule.SessionIDs != nil {
		if !op.SessionIDs {
			return nil, ruleErr("/session_ids", "%s names no sessions; session_ids goes with %s", p.operation, withInput(ops, func(in Inputs) bool { return in.SessionIDs }))
		}
		p.sessions = make(map[string]bool, len(*rule.SessionIDs))
		for _, id := range *rule.SessionIDs {
			p.sessions[id] = true
		}
	}
	if rule.Username != nil {
		if !op.Username {
			return nil, ruleErr("/username", "%s carries no user name; username goes with %s", p.operation, withInput(ops, func(in Inputs) bool { return in.Username }))
		}
		p.username = strings.ToLower(*rule.Username)
	}

	// Which fields go with which action.
	only := map[string]struct {
		set     bool
		actions []model.FaultRuleAction
	}{
		"status":              {rule.Status != nil, []model.FaultRuleAction{model.FaultRuleActionRespond}},
		"retry_after_seconds": {rule.RetryAfterSeconds != nil, []model.FaultRuleAction{model.FaultRuleActionRespond}},
		"after_acting":        {rule.AfterActing != nil, []model.FaultRuleAction{model.FaultRuleActionRespond}},
		"item_status":         {rule.ItemStatus != nil, []model.FaultRuleAction{model.FaultRuleActionFailSessions}},
		"error_key":           {rule.ErrorKey != nil, []model.FaultRuleAction{model.FaultRuleActionRespond, model.FaultRuleActionFailSessions}},
		"error_message":       {rule.ErrorMessage != nil, []model.FaultRuleAction{model.FaultRuleActionRespond, model.FaultRuleActionFailSessions}},
	}
	for _, field := range slices.Sorted(maps.Keys(only)) {
		f := only[field]
		if f.set && !slices.Contains(f.actions, rule.Action) {
			return nil, ruleErr("/"+field, "goes with action %s, not %s", joinActions(f.actions), rule.Action)
		}
	}

	switch rule.Action {
	case model.FaultRuleActionRespond:
		if rule.Status == nil {
			return nil, ruleErr("/status", "action respond needs the status to answer")
		}
		p.status = int(*rule.Status)
		declaresRetryAfter, declared := op.Statuses[p.status]
		if !declared {
			return nil, ruleErr("/status", "%s does not declare %d; it declares %s", p.operation, p.status, statusList(op.Statuses, false))
		}
		if rule.RetryAfterSeconds != nil {
			if !declaresRetryAfter {
				return nil, ruleErr("/retry_after_seconds", "%s's answer %d declares no Retry-After; those that do are %s",
					p.operation, p.status, statusList(op.Statuses, true))
			}
			p.retryAfter = int(*rule.RetryAfterSeconds)
		}
		p.afterActing = deref(rule.AfterActing)
	case model.FaultRuleActionFailSessions:
		if !op.FailSessions {
			return nil, ruleErr("/action", "fail_sessions goes with %s, whose answer has an item per session, not %s",
				withInput(ops, func(in Inputs) bool { return in.FailSessions }), p.operation)
		}
		if rule.ItemStatus != nil {
			p.itemStatus = *rule.ItemStatus
		}
		if p.errorKey == "" {
			p.errorKey = DefaultItemErrorKey
		}
	case model.FaultRuleActionDelay:
		if rule.DelayMs == nil {
			return nil, ruleErr("/delay_ms", "action delay needs delay_ms")
		}
	case model.FaultRuleActionCloseBeforeActing, model.FaultRuleActionCloseAfterActing:
	default:
		return nil, ruleErr("/action", "unknown action %q", rule.Action)
	}

	if rule.DelayMaxMs != nil {
		if rule.DelayMs == nil {
			return nil, ruleErr("/delay_max_ms", "goes with delay_ms, the low end of the range")
		}
		if *rule.DelayMaxMs < *rule.DelayMs {
			return nil, ruleErr("/delay_max_ms", "%d is below delay_ms %d", *rule.DelayMaxMs, *rule.DelayMs)
		}
		p.delayMax = time.Duration(*rule.DelayMaxMs) * time.Millisecond
	}
	if rule.DelayMs != nil {
		p.delay = time.Duration(*rule.DelayMs) * time.Millisecond
	}
	if rule.Times != nil {
		p.times = int64(*rule.Times)
	}
	if rule.Probability != nil {
		p.probability = *rule.Probability
	}
	return p, nil
}

// withInput lists the operations whose inputs pass has.
func withInput(ops map[string]Operation, has func(Inputs) bool) string {
	var names []string
	for name, op := range ops {
		if has(op.Inputs) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, " and ")
}

// statusList lists the statuses, or only those that declare Retry-After.
func statusList(statuses map[int]bool, retryAfterOnly bool) string {
	var out []string
	for _, status := range slices.Sorted(maps.Keys(statuses)) {
		if !retryAfterOnly || statuses[status] {
			out = append(out, strconv.Itoa(status))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func joinActions(actions []model.FaultRuleAction) string {
	names := make([]string, len(actions))
	for i, a := range actions {
		names[i] = string(a)
	}
	return strings.Join(names, " or ")
}

func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
