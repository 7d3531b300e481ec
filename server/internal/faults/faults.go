// Package faults decides which injected fault, if any, a request to one of Horizon's operations meets.
package faults

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
)

// Engine holds the fault rules and decides, request by request, which one
// acts. It is safe for concurrent use. Deciding reads the rules without a
// lock: a request for an operation that no rule names costs one map lookup.
type Engine struct {
	ops    map[string]Operation
	limits Limits

	mu      sync.Mutex // serialises changes to the rules
	lastID  int64
	current atomic.Pointer[ruleSet]
}

// Limits bound the rules an engine holds.
type Limits struct {
	// MaxRules is the most rules held at once; 0 is no bound.
	MaxRules int
	// MaxDelay is the longest delay a rule may have; 0 is no bound.
	MaxDelay time.Duration
}

// ErrFull says that the engine holds MaxRules rules.
var ErrFull = errors.New("as many fault rules as allowed")

// New returns an engine without rules, for operations that ops describes
// (see Operations).
func New(ops map[string]Operation, limits Limits) *Engine {
	e := &Engine{ops: ops, limits: limits}
	e.current.Store(&ruleSet{})
	return e
}

// rule is a rule in force, with its count and its generator.
type rule struct {
	*parsed
	seq  int64 // the id, as a number
	id   string
	size int // its jsonSize

	mu   sync.Mutex
	hits int64
	rng  *rand.Rand
}

// ruleSet is the rules at one moment; it is never changed, only replaced.
type ruleSet struct {
	all  []*rule
	byOp map[string]*opRules
}

// opRules are the rules of one operation, in order, indexed by the session
// ids they name.
type opRules struct {
	rules []*rule
	// index maps each session id a rule names to the positions, in rules, of
	// the rules that name it; nil when no rule names any.
	index map[string][]int
	// filter has the bit of idBit for every key of index: most ids that no
	// rule names are told by it alone, without a map lookup.
	filter [4]uint64
}

// Request is what a request carries for rules to match.
type Request struct {
	// SessionIDs are the sessions it names (send-message, get session).
	SessionIDs []string
	// Username is the user name it logs in with (login).
	Username string
}

// Add validates spec against what its operation allows and adds it after
// the others. A rule that is not allowed gets a *RuleError; one past
// MaxRules, ErrFull.
func (e *Engine) Add(spec model.FaultRule) (model.Fault, error) {
	// A copy of its own: the caller's bytes stay the caller's.
	raw, err := spec.MarshalJSON()
	if err != nil {
		return model.Fault{}, fmt.Errorf("faults: encode rule: %w", err)
	}
	var own model.FaultRule
	if err := own.UnmarshalJSON(bytes.Clone(raw)); err != nil {
		return model.Fault{}, fmt.Errorf("faults: decode rule: %w", err)
	}
	p, err := parse(e.ops, own)
	if err != nil {
		return model.Fault{}, err
	}
	if longest := max(p.delay, p.delayMax); e.limits.MaxDelay > 0 && longest > e.limits.MaxDelay {
		field := "/delay_ms"
		if p.delayMax > p.delay {
			field = "/delay_max_ms"
		}
		return model.Fault{}, ruleErr(field, "%d ms is longer than the server allows (%d ms): the answer would not arrive within its write timeout",
			longest.Milliseconds(), e.limits.MaxDelay.Milliseconds())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.limits.MaxRules > 0 && len(e.current.Load().all) >= e.limits.MaxRules {
		return model.Fault{}, ErrFull
	}
	e.lastID++
	r := &rule{parsed: p, seq: e.lastID, size: p.jsonSize(), id: strconv.FormatInt(e.lastID, 10), rng: rand.New(rand.NewPCG(uint64(p.seed), pcgStream))} //nolint:gosec // G404: repeatable draws are the point; nothing secret
	e.replace(append(slices.Clip(e.current.Load().all), r))
	return model.Fault{ID: r.id, Rule: r.spec}, nil
}

// pcgStream is the second word of every rule's PCG state: the seed is the first.
const pcgStream = 0x6661756c74 // "fault"

// List returns the rules in the order they are tried, with their hit counts.
func (e *Engine) List() []model.Fault {
	page, _ := e.Page(0, math.MaxInt, math.MaxInt)
	return page
}

// Page returns at most limit rules in the order they are tried, those
// added after the rule of id after (0: from the first), and whether more
// follow. A page stops early, after its first rule, at the rule that would
// take it past about maxBytes of JSON: rules with many long ids are large.
func (e *Engine) Page(after int64, limit, maxBytes int) (page []model.Fault, more bool) {
	all := e.current.Load().all
	// Ids grow as rules are added, and rules keep that order.
	start, _ := slices.BinarySearchFunc(all, after+1, func(r *rule, id int64) int { return cmp.Compare(r.seq, id) })
	end, size := start, 0
	for end < len(all) && end-start < limit && (end == start || size+all[end].size <= maxBytes) {
		size += all[end].size
		end++
	}
	page = make([]model.Fault, 0, end-start)
	for _, r := range all[start:end] {
		page = append(page, r.fault())
	}
	return page, end < len(all)
}

// jsonSize is about how many bytes of JSON p takes: its texts, and room
// for the rest.
func (p *parsed) jsonSize() int {
	size := 512 + len(p.errorKey) + len(p.message) + len(p.username)
	for id := range p.sessions {
		size += len(id) + 3
	}
	return size
}

// Get returns the rule with the given id.
func (e *Engine) Get(id string) (model.Fault, bool) {
	for _, r := range e.current.Load().all {
		if r.id == id {
			return r.fault(), true
		}
	}
	return model.Fault{}, false
}

// Delete removes the rule with the given id, and says whether there was one.
func (e *Engine) Delete(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	all := e.current.Load().all
	i := slices.IndexFunc(all, func(r *rule) bool { return r.id == id })
	if i < 0 {
		return false
	}
	e.replace(slices.Delete(slices.Clone(all), i, i+1))
	return true
}

// Clear removes every rule. Ids are not reused.
func (e *Engine) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replace(nil)
}

// Len returns how many rules there are.
func (e *Engine) Len() int { return len(e.current.Load().all) }

// replace puts all in force. e.mu must be held.
func (e *Engine) replace(all []*rule) {
	set := &ruleSet{all: all, byOp: map[string]*opRules{}}
	for _, r := range all {
		ops := set.byOp[r.operation]
		if ops == nil {
			ops = &opRules{}
			set.byOp[r.operation] = ops
		}
		for id := range r.sessions {
			if ops.index == nil {
				ops.index = map[string][]int{}
			}
			ops.index[id] = append(ops.index[id], len(ops.rules))
			bit := idBit(id)
			ops.filter[bit/64] |= 1 << (bit % 64)
		}
		ops.rules = append(ops.rules, r)
	}
	e.current.Store(set)
}

// idBit is the bit of id in a filter of 256 bits: it mixes the length, the
// first byte and the last two, which tell apart ids such as UUIDs that share
// a prefix or a layout.
func idBit(id string) uint {
	n := len(id)
	h := uint(n)
	if n > 0 {
		h = h*31 + uint(id[0])
		h = h*31 + uint(id[n-1])
	}
	if n > 1 {
		h = h*31 + uint(id[n-2])
	}
	return (h ^ h>>8) & 255
}

// Active says whether any rule names operation.
func (e *Engine) Active(operation string) bool {
	return e.current.Load().byOp[operation] != nil
}

// Decide returns the decision of the first rule of operation that matches req
// and fires, or nil. accepted is asked, once, before the first rule that
// matches may fire: when it says false, no rule acts and none counts the
// request, as faults are only for requests the server would accept.
func (e *Engine) Decide(operation string, req Request, accepted func() bool) *Decision {
	ops := e.current.Load().byOp[operation]
	if ops == nil {
		return nil
	}
	var named []bool // named[i]: req names a session of ops.rules[i]
	if ops.index != nil {
		named = ops.named(req.SessionIDs)
	}
	username := ""
	checked := false
	for i, r := range ops.rules {
		if r.sessions != nil && (named == nil || !named[i]) {
			continue
		}
		if r.username != "" {
			if username == "" {
				username = strings.ToLower(req.Username)
			}
			if r.username != username {
				continue
			}
		}
		if !checked {
			if accepted != nil && !accepted() {
				return nil
			}
			checked = true
		}
		if d := r.fire(); d != nil {
			return d
		}
	}
	return nil
}

// named marks the rules that name one of ids; nil when none does.
func (ops *opRules) named(ids []string) []bool {
	var named []bool
	for _, id := range ids {
		bit := idBit(id)
		if ops.filter[bit/64]&(1<<(bit%64)) == 0 {
			continue
		}
		positions, ok := ops.index[id]
		if !ok {
			continue
		}
		if named == nil {
			named = make([]bool, len(ops.rules))
		}
		for _, i := range positions {
			named[i] = true
		}
	}
	return named
}

// fire counts a matching request and returns the rule's decision when the
// rule acts on it: its times not used up, its draw not missed.
func (r *rule) fire() *Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.times > 0 && r.hits >= r.times {
		return nil
	}
	if r.probability >= 0 && r.rng.Float64() >= r.probability {
		return nil
	}
	r.hits++
	delay := r.delay
	if r.delayMax > r.delay {
		delay += time.Duration(r.rng.Int64N(int64((r.delayMax-r.delay)/time.Millisecond)+1)) * time.Millisecond
	}
	return &Decision{ID: r.id, Delay: delay, rule: r.parsed}
}

func (r *rule) fault() model.Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	return model.Fault{ID: r.id, Hits: r.hits, Rule: r.spec}
}

// Decision is what a rule does to one request.
type Decision struct {
	// ID is the rule's.
	ID string
	// Delay holds the answer, or the closing, back.
	Delay time.Duration

	rule *parsed
}

// Action is the rule's action.
func (d *Decision) Action() Action { return d.rule.action }

// Acts says whether the request is acted on (a message delivered, a login
// made...) before the fault's answer, or its closing.
func (d *Decision) Acts() bool {
	switch d.rule.action {
	case Respond:
		return d.rule.afterActing
	case CloseBeforeActing:
		return false
	}
	return true
}

// HidesActing says whether the request is acted on but the client is not
// told: its deliveries are marked with the rule's id.
func (d *Decision) HidesActing() bool {
	switch d.rule.action {
	case Respond:
		return d.rule.afterActing
	case CloseAfterActing:
		return true
	}
	return false
}

// Closes says whether the connection is closed without an answer.
func (d *Decision) Closes() bool {
	return d.rule.action == CloseBeforeActing || d.rule.action == CloseAfterActing
}

// Answer is the answer of a respond rule: its status, its error_key and
// error_message ("" for the status's own), and its Retry-After in seconds
// (-1: none). ok is false for other rules.
func (d *Decision) Answer() (status int, key, message string, retryAfter int, ok bool) {
	if d.rule.action != Respond {
		return 0, "", "", -1, false
	}
	return d.rule.status, d.rule.errorKey, d.rule.message, d.rule.retryAfter, true
}

// Fail says whether the session id, which would be delivered the message,
// fails instead, and with what item status, error_key and reason.
func (d *Decision) Fail(id string) (status int32, key, message string, failed bool) {
	r := d.rule
	if r.action != FailSessions || (r.sessions != nil && !r.sessions[id]) {
		return 0, "", "", false
	}
	message = r.message
	if message == "" {
		message = fmt.Sprintf("Session %q: the Horizon Agent did not answer; the message was not shown.", id)
	}
	return r.itemStatus, r.errorKey, message, true
}
