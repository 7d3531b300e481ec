package conformance

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// filter is one filter in Horizon's filter language, as JSON members.
type filter = map[string]any

// filterCheck builds the filter of one check from the listed sessions.
type filterCheck struct {
	name string
	kind string // the filter type it checks
	// build returns a filter to check, or nil when the sessions offer none.
	build func(p *picker) filter
}

// filterChecks are the checks of each filter type; the spec says which
// types there are, and which fields take each (x-filters). Fields are chosen
// from the spec's SessionInfo, the ones a script most often filters on
// first, and values from the sessions, so that the filter selects some
// sessions and not others where it can.
var filterChecks = []filterCheck{
	{"filter Equals on an enum", "Equals", func(p *picker) filter {
		return p.leaf("Equals", []string{"enum"}, []string{"session_state"}, equalsOf)
	}},
	{"filter Equals on a field of an object", "Equals", func(p *picker) filter {
		return p.leaf("Equals", []string{"enum", "string"}, []string{"client_data.type", "security_gateway_data.location"}, func(field string, v any) filter {
			if !strings.Contains(field, ".") {
				return nil
			}
			return equalsOf(field, v)
		})
	}},
	{"filter NotEquals", "NotEquals", func(p *picker) filter {
		return p.leaf("NotEquals", []string{"enum", "string"}, []string{"session_state"}, func(field string, v any) filter {
			return filter{"type": "NotEquals", "name": field, "value": v}
		})
	}},
	{"filter Contains", "Contains", func(p *picker) filter {
		return p.leaf("Contains", []string{"list", "string"}, []string{"application_names", "machine_id", "user_id"}, textFilter("Contains", func(s string) string { return s[1 : len(s)-1] }))
	}},
	{"filter StartsWith", "StartsWith", func(p *picker) filter {
		return p.leaf("StartsWith", []string{"string"}, []string{"machine_id", "user_id"}, textFilter("StartsWith", func(s string) string { return s[:len(s)/2] }))
	}},
	{"filter EndsWith", "EndsWith", func(p *picker) filter {
		return p.leaf("EndsWith", []string{"string"}, []string{"machine_id", "user_id"}, textFilter("EndsWith", func(s string) string { return s[len(s)/2:] }))
	}},
	{"filter Between", "Between", func(p *picker) filter {
		return p.leaf("Between", []string{"integer"}, []string{"start_time"}, p.between)
	}},
	{"filter And", "And", func(p *picker) filter {
		return p.combined(func(s map[string]any) filter {
			pool := p.firstEquals(s, []string{"string"}, []string{"desktop_pool_id", "farm_id"})
			state := p.firstEquals(s, []string{"enum"}, []string{"session_state"})
			if pool == nil || state == nil {
				return nil
			}
			return filter{"type": "And", "filters": []filter{pool, state}}
		})
	}},
	{"filter Or", "Or", func(p *picker) filter {
		if len(p.sessions) == 0 {
			return nil
		}
		first, last := p.sessions[0]["id"], p.sessions[len(p.sessions)-1]["id"]
		return filter{"type": "Or", "filters": []filter{equalsOf("id", first), equalsOf("id", last)}}
	}},
	{"filter Not", "Not", func(p *picker) filter {
		inner := p.leaf("Equals", []string{"enum"}, []string{"session_state"}, equalsOf)
		if inner == nil {
			return nil
		}
		return filter{"type": "Not", "filter": inner}
	}},
}

// leafTypes are the filter types that compare a field, which a field takes
// or not.
var leafTypes = map[string]bool{"Equals": true, "NotEquals": true, "Contains": true, "StartsWith": true, "EndsWith": true, "Between": true}

func equalsOf(field string, v any) filter {
	return filter{"type": "Equals", "name": field, "value": v}
}

// textFilter builds a filter of kind on a part of a string value, or on one
// of the values of a list (Contains: the list holds it).
func textFilter(kind string, part func(string) string) func(string, any) filter {
	return func(field string, v any) filter {
		if list, ok := v.([]any); ok {
			if item, ok := firstString(list); ok {
				return filter{"type": kind, "name": field, "value": item}
			}
			return nil
		}
		s, ok := v.(string)
		if !ok || len(s) < 3 {
			return nil
		}
		return filter{"type": kind, "name": field, "value": part(s)}
	}
}

// firstString is the first string of a list.
func firstString(list []any) (string, bool) {
	for _, item := range list {
		if s, ok := item.(string); ok {
			return s, true
		}
	}
	return "", false
}

// picker chooses fields and values for filters.
type picker struct {
	sessions []map[string]any
	fields   map[string]sessionField // the spec's SessionInfo fields
}

// sampled bounds the sessions whose values are tried for a filter, so that
// choosing stays quick for a pod of thousands.
const sampled = 50

func (p *picker) sample() []map[string]any { return p.sessions[:min(len(p.sessions), sampled)] }

// candidates are the fields of the given types that take filters of kind:
// preferred first, then the others in order.
func (p *picker) candidates(kind string, types, preferred []string) []string {
	var out []string
	for _, name := range slices.Concat(preferred, slices.Sorted(maps.Keys(p.fields))) {
		f, ok := p.fields[name]
		if ok && slices.Contains(types, f.kind) && f.takesType(kind) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// taken says whether some field takes filters of kind.
func (p *picker) taken(kind string) bool {
	for _, f := range p.fields {
		if f.takesType(kind) {
			return true
		}
	}
	return false
}

// leaf returns the first filter of kind, over candidate fields and session
// values, that selects some sessions but not all; else the first that
// selects any.
func (p *picker) leaf(kind string, types, preferred []string, build func(field string, v any) filter) filter {
	c := choice{p: p}
	for _, field := range p.candidates(kind, types, preferred) {
		for _, s := range p.sample() {
			if v, ok := fieldValue(s, field); ok && c.take(build(field, v)) {
				return c.best
			}
		}
	}
	return c.best
}

// choice keeps the first filter that selects some sessions but not all, or
// else the first that selects any.
type choice struct {
	p    *picker
	best filter
	done bool
}

// take weighs f (nil: none) and says whether it is the one to keep.
func (c *choice) take(f filter) bool {
	if f == nil || c.done {
		return c.done
	}
	switch n := c.p.count(f); {
	case n > 0 && n < len(c.p.sessions):
		c.best, c.done = f, true
	case n > 0 && c.best == nil:
		c.best = f
	}
	return c.done
}

// combined is leaf for filters built from one session.
func (p *picker) combined(build func(map[string]any) filter) filter {
	c := choice{p: p}
	for _, s := range p.sample() {
		if c.take(build(s)) {
			break
		}
	}
	return c.best
}

// firstEquals is an Equals filter on the first candidate field s has.
func (p *picker) firstEquals(s map[string]any, types, preferred []string) filter {
	for _, field := range p.candidates("Equals", types, preferred) {
		if v, ok := fieldValue(s, field); ok {
			return equalsOf(field, v)
		}
	}
	return nil
}

// between selects the values of field from the lowest up to v.
func (p *picker) between(field string, v any) filter {
	low := v
	for _, s := range p.sessions {
		if w, ok := fieldValue(s, field); ok && compare(w, low) < 0 {
			low = w
		}
	}
	return filter{"type": "Between", "name": field, "fromValue": low, "toValue": v}
}

func (p *picker) count(f filter) int {
	n := 0
	for _, s := range p.sessions {
		if matches(f, s) {
			n++
		}
	}
	return n
}

// fieldValue reads a field of a session, a dotted one from its object.
func fieldValue(s map[string]any, field string) (any, bool) {
	if object, member, ok := strings.Cut(field, "."); ok {
		inner, _ := s[object].(map[string]any)
		v, ok := inner[member]
		return v, ok && v != nil
	}
	v, ok := s[field]
	return v, ok && v != nil
}

// matches says whether the contract's filter selects the session: exact
// comparisons, a session without the field matched only by NotEquals.
func matches(f filter, s map[string]any) bool {
	name, _ := f["name"].(string)
	v, has := fieldValue(s, name)
	text, isText := v.(string)
	want, _ := f["value"].(string)
	switch f["type"] {
	case "Equals":
		return has && compare(v, f["value"]) == 0
	case "NotEquals":
		return !has || compare(v, f["value"]) != 0
	case "Contains":
		if list, isList := v.([]any); isList {
			return slices.Contains(list, any(want))
		}
		return isText && strings.Contains(text, want)
	case "StartsWith":
		return isText && strings.HasPrefix(text, want)
	case "EndsWith":
		return isText && strings.HasSuffix(text, want)
	case "Between":
		return has && compare(v, f["fromValue"]) >= 0 && compare(v, f["toValue"]) <= 0
	case "And", "Or":
		all := f["type"] == "And"
		inners, _ := f["filters"].([]filter)
		for _, inner := range inners {
			if matches(inner, s) != all {
				return !all
			}
		}
		return all
	case "Not":
		inner, _ := f["filter"].(filter)
		return !matches(inner, s)
	}
	return false
}

// compare orders two JSON values of one field: numbers by value, strings
// and booleans as text; -2 when they cannot be compared.
func compare(a, b any) int {
	an, aNum := a.(json.Number)
	bn, bNum := b.(json.Number)
	if aNum && bNum {
		ai, errA := strconv.ParseInt(string(an), 10, 64)
		bi, errB := strconv.ParseInt(string(bn), 10, 64)
		if errA == nil && errB == nil {
			return cmp.Compare(ai, bi)
		}
		af, _ := an.Float64()
		bf, _ := bn.Float64()
		return cmp.Compare(af, bf)
	}
	if aNum != bNum {
		return -2
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// checkFilters runs a check of each filter type the contract has, and one
// with a bad filter.
func (r *runner) checkFilters(ctx context.Context) {
	types := filterTypes(r.cfg.Contract)
	p := &picker{sessions: r.sessions, fields: sessionFields(r.cfg.Contract)}
	covered := map[string]bool{}
	for _, fc := range filterChecks {
		if !slices.Contains(types, fc.kind) {
			continue // the contract has no such filter type
		}
		covered[fc.kind] = true
		c := r.start(fc.name, opList)
		if !r.listed {
			c.skip("the full listing, which filters are compared with, failed")
			continue
		}
		if leafTypes[fc.kind] && !p.taken(fc.kind) {
			r.checkRefused(ctx, c, p, fc.kind)
			continue
		}
		f := fc.build(p)
		if f == nil {
			c.skip("no session has a value such a filter can select")
			continue
		}
		r.checkFilter(ctx, c, f)
		c.done()
	}
	for _, kind := range types {
		if !covered[kind] {
			r.start("filter "+kind, opList).skip("the contract has this filter type; conform has no check of it yet")
		}
	}

	c := r.start("bad filter: a plain string", opList)
	query := url.Values{"filter": {`"CONNECTED"`}}
	c.send(ctx, request{op: opList, path: pathSessions, query: query, token: r.access}, http.StatusBadRequest)
	c.done()
}

// checkRefused checks that a filter type the contract gives no field is
// refused, as Horizon refuses a filter type that a field does not list among
// its "Supported Filters": on a field of SessionInfo it would otherwise
// apply to.
func (r *runner) checkRefused(ctx context.Context, c *check, p *picker, kind string) {
	types := map[string][]string{"Between": {"integer", "string"}}[kind]
	if types == nil {
		types = []string{"string"}
	}
	var f filter
	for _, name := range slices.Sorted(maps.Keys(p.fields)) {
		if slices.Contains(types, p.fields[name].kind) {
			f = filter{"type": kind, "name": name, "value": "a"}
			if kind == "Between" {
				f = filter{"type": kind, "name": name, "fromValue": "a", "toValue": "b"}
				if p.fields[name].kind == "integer" {
					f = filter{"type": kind, "name": name, "fromValue": 0, "toValue": 1}
				}
			}
			break
		}
	}
	if f == nil {
		c.skip("the contract has no field that such a filter could compare")
		return
	}
	text := string(jsonBody(f))
	c.send(ctx, request{op: opList, path: pathSessions, query: url.Values{"filter": {text}}, token: r.access}, http.StatusBadRequest)
	c.res.Note = fmt.Sprintf("the contract gives %s to no field (x-filters): %s is refused", kind, text)
	c.done()
}

// checkFilter lists the sessions f selects and compares them with those
// the contract says it selects.
func (r *runner) checkFilter(ctx context.Context, c *check, f filter) {
	text := string(jsonBody(f))
	a := c.send(ctx, request{op: opList, path: pathSessions, query: url.Values{"filter": {text}}, token: r.access}, http.StatusOK)
	if a == nil || a.status != http.StatusOK {
		return
	}
	var want []string
	for _, s := range r.sessions {
		if matches(f, s) {
			id, _ := s["id"].(string)
			want = append(want, id)
		}
	}
	items, _ := a.json.([]any)
	got := ids(objects(items))
	missing, unexpected := difference(want, got), difference(got, want)
	if len(missing) > 0 {
		c.differ("%s: left out %d sessions the filter selects, such as %s; filter %s", opList, len(missing), missing[0], text)
	}
	if len(unexpected) > 0 {
		c.differ("%s: answered %d sessions the filter does not select, such as %s; filter %s", opList, len(unexpected), unexpected[0], text)
	}
	c.res.Note = fmt.Sprintf("%s selects %d of %d sessions", text, len(want), len(r.sessions))
}

// difference is what a has and b has not.
func difference(a, b []string) []string {
	inB := make(map[string]bool, len(b))
	for _, x := range b {
		inB[x] = true
	}
	var out []string
	for _, x := range a {
		if !inB[x] {
			out = append(out, x)
		}
	}
	return out
}
