package faults_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/api"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/faults"
)

// names are the operations whose requests the server knows.
var names = []string{"login", "refreshAccessToken", "logout", "listSessions", "getSession", "sendMessageToSessions"}

func operations(t *testing.T) map[string]faults.Operation {
	t.Helper()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := faults.Operations(doc, names)
	if err != nil {
		t.Fatalf("Operations: %v", err)
	}
	return ops
}

func newEngine(t *testing.T, rules ...string) *faults.Engine {
	t.Helper()
	e := faults.New(operations(t), faults.Limits{})
	for _, r := range rules {
		if _, err := e.Add(rule(t, r)); err != nil {
			t.Fatalf("Add(%s): %v", r, err)
		}
	}
	return e
}

// rule decodes a rule written as JSON, as the API and data files give it.
func rule(t *testing.T, text string) model.FaultRule {
	t.Helper()
	var r model.FaultRule
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("rule %s: %v", text, err)
	}
	return r
}

func always() bool { return true }

// Each operation may answer the statuses it declares with an ErrorResponse
// body; not the plain-text 431.
func TestOperationsReadTheSpec(t *testing.T) {
	t.Parallel()
	ops := operations(t)
	if len(ops) != len(names) {
		t.Fatalf("%d operations, want %d", len(ops), len(names))
	}
	want := map[int]bool{400: true, 401: true, 408: true, 413: true, 429: true, 500: true, 502: true, 503: true, 504: true}
	if diff := cmp.Diff(want, ops["sendMessageToSessions"].Statuses); diff != "" {
		t.Errorf("sendMessageToSessions statuses (-want +got):\n%s", diff)
	}
	if _, ok := ops["getSession"].Statuses[404]; !ok {
		t.Error("getSession may not answer its 404")
	}
	for name, op := range ops {
		for _, status := range []int{429, 502, 503, 504} {
			if !op.Statuses[status] {
				t.Errorf("%s does not declare %d", name, status)
			}
		}
	}
}

func TestOperationsMustBeTheSpecsList(t *testing.T) {
	t.Parallel()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	fewer := []string{"login"}
	if _, err := faults.Operations(doc, fewer); err == nil || !strings.Contains(err.Error(), "sendMessageToSessions") {
		t.Errorf("Operations with one operation: %v, want an error naming the others", err)
	}
}

// The engine refuses what the spec's FaultRule cannot say, and what the
// validator refuses before it, should a rule come without it.
func TestAddRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct{ rule, pointer, reason string }{
		{`{"operation":"sendMessageToSessions","action":"respond","status":418}`, "/status", "does not declare 418; it declares 400, 401, 408, 413, 429, 500, 502, 503, 504"},
		{`{"operation":"getSession","action":"respond","status":431}`, "/status", "does not declare 431"},
		{`{"operation":"login","action":"delay","delay_ms":10,"delay_max_ms":5}`, "/delay_max_ms", "5 is below delay_ms 10"},
		{`{"operation":"login","action":"close_before_acting","delay_ms":10,"delay_max_ms":0}`, "/delay_max_ms", "0 is below delay_ms 10"},
		{`{"operation":"sendMessageToSessions","action":"fail_sessions","delay_ms":1,"delay_max_ms":0}`, "/delay_max_ms", "0 is below delay_ms 1"},
		// The validator's, first.
		{`{"operation":"deleteFault","action":"close_before_acting"}`, "/operation", `"deleteFault" is not an operation a rule may name`},
		{`{"operation":"login","action":"explode"}`, "/action", `unknown discriminator value: explode`},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			_, err := e.Add(rule(t, tt.rule))
			var ruleErr *faults.RuleError
			if !errors.As(err, &ruleErr) {
				t.Fatalf("Add = %v, want a *RuleError", err)
			}
			if ruleErr.Pointer != tt.pointer || !strings.Contains(ruleErr.Reason, tt.reason) {
				t.Errorf("Add = %q, want %s: ...%s...", err, tt.pointer, tt.reason)
			}
			if e.Len() != 0 {
				t.Errorf("a refused rule was added: %+v", e.List())
			}
		})
	}
}

// A rule matches its operation, and the sessions or the user name it names.
func TestDecideMatches(t *testing.T) {
	t.Parallel()
	e := newEngine(t,
		`{"operation":"sendMessageToSessions","session_ids":["s1","s2"],"action":"close_before_acting"}`,
		`{"operation":"getSession","session_ids":["s3"],"action":"close_after_acting"}`,
		`{"operation":"login","username":"Alice","action":"respond","status":503}`,
		`{"operation":"listSessions","action":"delay","delay_ms":7}`,
	)
	tests := []struct {
		name   string
		op     string
		req    faults.Request
		wantID string // "": none
	}{
		{"send naming s2 among others", "sendMessageToSessions", faults.Request{SessionIDs: []string{"x", "s2", "y"}}, "1"},
		{"send naming neither", "sendMessageToSessions", faults.Request{SessionIDs: []string{"x", "s3"}}, ""},
		{"get s3", "getSession", faults.Request{SessionIDs: []string{"s3"}}, "2"},
		{"get s1", "getSession", faults.Request{SessionIDs: []string{"s1"}}, ""},
		{"login of ALICE", "login", faults.Request{Username: "ALICE"}, "3"},
		{"login of bob", "login", faults.Request{Username: "bob"}, ""},
		{"any listing", "listSessions", faults.Request{}, "4"},
		{"an operation without rules", "logout", faults.Request{}, ""},
	}
	for _, tt := range tests {
		d := e.Decide(tt.op, tt.req, always)
		switch {
		case tt.wantID == "" && d != nil:
			t.Errorf("%s: rule %s acts, want none", tt.name, d.ID)
		case tt.wantID != "" && (d == nil || d.ID != tt.wantID):
			t.Errorf("%s: decision %+v, want rule %s", tt.name, d, tt.wantID)
		}
	}
	if !e.Active("listSessions") || e.Active("logout") {
		t.Errorf("Active(listSessions) = %v, Active(logout) = %v", e.Active("listSessions"), e.Active("logout"))
	}
}

// Among many requested ids, one that a rule names is found, however many
// rules name other ids.
func TestDecideAmongManyIDs(t *testing.T) {
	t.Parallel()
	var rules []string
	for i := range 40 {
		rules = append(rules, fmt.Sprintf(`{"operation":"sendMessageToSessions","session_ids":["ffffffff-0000-4000-8000-%012x"],"action":"close_before_acting"}`, i))
	}
	e := newEngine(t, rules...)
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	if d := e.Decide("sendMessageToSessions", faults.Request{SessionIDs: ids}, always); d != nil {
		t.Fatalf("rule %s acts on ids that no rule names", d.ID)
	}
	ids[4321] = "ffffffff-0000-4000-8000-000000000027" // the 40th rule's
	if d := e.Decide("sendMessageToSessions", faults.Request{SessionIDs: ids}, always); d == nil || d.ID != "40" {
		t.Fatalf("decision %+v, want rule 40", d)
	}
}

// The first rule that matches and fires decides; one whose times are used
// up, or whose draw misses, leaves the request to the next.
func TestTimesAndOrder(t *testing.T) {
	t.Parallel()
	e := newEngine(t,
		`{"operation":"sendMessageToSessions","action":"respond","status":503,"times":2}`,
		`{"operation":"sendMessageToSessions","action":"respond","status":500,"probability":0}`,
		`{"operation":"sendMessageToSessions","action":"respond","status":502,"times":1}`,
	)
	var got []string
	for range 5 {
		d := e.Decide("sendMessageToSessions", faults.Request{SessionIDs: []string{"a"}}, always)
		if d == nil {
			got = append(got, "none")
			continue
		}
		status, _, _, _, _ := d.Answer()
		got = append(got, fmt.Sprint(status))
	}
	if diff := cmp.Diff([]string{"503", "503", "502", "none", "none"}, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	var hits []int64
	for _, f := range e.List() {
		hits = append(hits, f.Hits)
	}
	if diff := cmp.Diff([]int64{2, 0, 1}, hits); diff != "" {
		t.Errorf("hits (-want +got):\n%s", diff)
	}
}

// A seeded probability draws the same faults for the same requests in the
// same order, and about as often as it says.
func TestProbabilityIsRepeatable(t *testing.T) {
	t.Parallel()
	run := func(seed int) string {
		e := newEngine(t, fmt.Sprintf(`{"operation":"logout","action":"close_before_acting","probability":0.25,"seed":%d}`, seed))
		var b strings.Builder
		for range 400 {
			if e.Decide("logout", faults.Request{}, always) != nil {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	first, again, other := run(7), run(7), run(8)
	if first != again {
		t.Errorf("seed 7 drew differently twice:\n%s\n%s", first, again)
	}
	if first == other {
		t.Error("seeds 7 and 8 drew the same")
	}
	if n := strings.Count(first, "x"); n < 60 || n > 140 {
		t.Errorf("%d of 400 drawn at probability 0.25", n)
	}
}

// A delay range draws from its ends, both included, repeatably; a fixed
// delay is that delay.
func TestDelays(t *testing.T) {
	t.Parallel()
	draw := func() []time.Duration {
		e := newEngine(t, `{"operation":"listSessions","action":"delay","delay_ms":10,"delay_max_ms":13,"seed":42}`)
		var out []time.Duration
		for range 200 {
			out = append(out, e.Decide("listSessions", faults.Request{}, always).Delay)
		}
		return out
	}
	first := draw()
	if diff := cmp.Diff(first, draw()); diff != "" {
		t.Errorf("the same seed drew other delays (-first +second):\n%s", diff)
	}
	seen := map[time.Duration]bool{}
	for _, d := range first {
		seen[d] = true
	}
	want := map[time.Duration]bool{10 * time.Millisecond: true, 11 * time.Millisecond: true, 12 * time.Millisecond: true, 13 * time.Millisecond: true}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("delays drawn (-want +got):\n%s", diff)
	}
	fixed := newEngine(t, `{"operation":"listSessions","action":"close_after_acting","delay_ms":250}`)
	if d := fixed.Decide("listSessions", faults.Request{}, always); d.Delay != 250*time.Millisecond {
		t.Errorf("delay = %s, want 250ms", d.Delay)
	}
}

// A request the server would refuse meets no fault and counts for none;
// accepted is asked only when a rule matches.
func TestRefusedRequestsMeetNoFault(t *testing.T) {
	t.Parallel()
	e := newEngine(t, `{"operation":"login","username":"alice","action":"respond","status":503,"times":1}`)
	asked := 0
	refuse := func() bool { asked++; return false }
	if d := e.Decide("login", faults.Request{Username: "bob"}, refuse); d != nil || asked != 0 {
		t.Errorf("no match: decision %+v, accepted asked %d times", d, asked)
	}
	if d := e.Decide("login", faults.Request{Username: "alice"}, refuse); d != nil || asked != 1 {
		t.Errorf("refused: decision %+v, accepted asked %d times", d, asked)
	}
	if d := e.Decide("login", faults.Request{Username: "alice"}, always); d == nil {
		t.Error("accepted: no fault; the refused request used the rule's one time up")
	}
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	e := newEngine(t,
		`{"operation":"sendMessageToSessions","session_ids":["a","b"],"action":"fail_sessions","times":1}`,
		`{"operation":"sendMessageToSessions","action":"fail_sessions","item_status":504,"error_key":"agent.timeout","error_message":"too slow","times":1}`,
		`{"operation":"sendMessageToSessions","action":"respond","status":429,"retry_after_seconds":0,"error_key":"busy","error_message":"later","after_acting":true,"times":1}`,
		`{"operation":"sendMessageToSessions","action":"close_after_acting","times":1}`,
		`{"operation":"sendMessageToSessions","action":"close_before_acting","times":1}`,
		`{"operation":"sendMessageToSessions","action":"delay","delay_ms":1,"times":1}`,
	)
	type fail struct {
		Status       int32
		Key, Message string
		Failed       bool
	}
	type decision struct {
		ID                  string
		Acts, Hides, Closes bool
		Status, RetryAfter  int
		Key, Message        string
		Answers             bool
		FailA, FailB, FailC fail
	}
	var got []decision
	for range 6 {
		d := e.Decide("sendMessageToSessions", faults.Request{SessionIDs: []string{"a", "c"}}, always)
		if d == nil {
			t.Fatal("no rule acted")
		}
		status, key, message, retryAfter, answers := d.Answer()
		failOf := func(id string) fail {
			s, k, m, ok := d.Fail(id)
			return fail{s, k, m, ok}
		}
		got = append(got, decision{
			ID: d.ID, Acts: d.Acts(), Hides: d.HidesActing(), Closes: d.Closes(),
			Status: status, RetryAfter: retryAfter, Key: key, Message: message, Answers: answers,
			FailA: failOf("a"), FailB: failOf("b"), FailC: failOf("c"),
		})
	}
	agent := func(id string) string {
		return `Session "` + id + `": the Horizon Agent did not answer; the message was not shown.`
	}
	want := []decision{
		{ID: "1", Acts: true, RetryAfter: -1,
			FailA: fail{faults.DefaultItemStatus, faults.DefaultItemErrorKey, agent("a"), true},
			FailB: fail{faults.DefaultItemStatus, faults.DefaultItemErrorKey, agent("b"), true}},
		{ID: "2", Acts: true, RetryAfter: -1,
			FailA: fail{504, "agent.timeout", "too slow", true}, FailB: fail{504, "agent.timeout", "too slow", true},
			FailC: fail{504, "agent.timeout", "too slow", true}},
		{ID: "3", Acts: true, Hides: true, Status: 429, RetryAfter: 0, Key: "busy", Message: "later", Answers: true},
		{ID: "4", Acts: true, Hides: true, Closes: true, RetryAfter: -1},
		{ID: "5", Closes: true, RetryAfter: -1},
		{ID: "6", Acts: true, RetryAfter: -1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
}

// Rules keep their ids, which are never reused; a rule is listed as given.
func TestRuleLifecycle(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	const given = `{"action":"close_before_acting","operation":"getSession","session_ids":["s1"]}`
	caller := rule(t, given)
	first, err := e.Add(caller)
	if err != nil {
		t.Fatal(err)
	}
	// The caller's bytes are not the rule's: decoding another rule into
	// them leaves the rule as it was.
	if err := caller.UnmarshalJSON([]byte(`{"action":"close_after_acting","operation":"logout"}`)); err != nil {
		t.Fatal(err)
	}
	second, err := e.Add(rule(t, `{"operation":"logout","action":"close_before_acting"}`))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != "1" || second.ID != "2" {
		t.Fatalf("ids %q, %q, want 1, 2", first.ID, second.ID)
	}
	got, ok := e.Get("1")
	if listed, err := got.Rule.MarshalJSON(); !ok || err != nil || string(listed) != given {
		t.Errorf("Get(1) = %s, %v, %v; want %s", listed, ok, err, given)
	}
	if e.Decide("getSession", faults.Request{SessionIDs: []string{"s1"}}, always) == nil {
		t.Error("the rule lost its session")
	}
	if !e.Delete("1") || e.Delete("1") {
		t.Error("Delete(1) twice: want true, then false")
	}
	if _, ok := e.Get("1"); ok {
		t.Error("a deleted rule is still there")
	}
	e.Clear()
	if e.Len() != 0 || e.Active("logout") {
		t.Errorf("after Clear: %d rules", e.Len())
	}
	third, err := e.Add(rule(t, `{"operation":"logout","action":"close_before_acting"}`))
	if err != nil || third.ID != "3" {
		t.Errorf("after Clear: id %q, %v; want 3", third.ID, err)
	}
}

// Concurrent requests use up a rule's times exactly, while rules change.
func TestConcurrentDecisions(t *testing.T) {
	t.Parallel()
	e := newEngine(t, `{"operation":"sendMessageToSessions","session_ids":["a"],"action":"close_before_acting","times":100}`)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fired int
	)
	for range 20 {
		wg.Go(func() {
			for range 20 {
				if d := e.Decide("sendMessageToSessions", faults.Request{SessionIDs: []string{"b", "a"}}, always); d != nil && d.ID == "1" {
					mu.Lock()
					fired++
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			f, err := e.Add(rule(t, `{"operation":"logout","action":"close_before_acting"}`))
			if err != nil {
				t.Error(err)
				return
			}
			e.Delete(f.ID)
			e.List()
		}
	})
	wg.Wait()
	if fired != 100 {
		t.Errorf("rule fired %d times, want 100", fired)
	}
	if f, _ := e.Get("1"); f.Hits != 100 {
		t.Errorf("hits = %d, want 100", f.Hits)
	}
}
