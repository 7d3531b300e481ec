package inventory

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/server/internal/contract"
)

// A Filter is one node of Horizon's JSON filter language, checked against the
// properties of a spec schema (SessionInfo): field names, and the values each
// field can hold, come from the spec.
type Filter struct {
	kind     string
	name     string // the field, for comparisons
	value    any    // Equals, NotEquals, Contains, StartsWith, EndsWith
	from, to any    // Between
	children []*Filter
}

// The filter types and the members each takes besides "type".
var filterMembers = map[string][]string{
	"Equals":     {"name", "value"},
	"NotEquals":  {"name", "value"},
	"Contains":   {"name", "value"},
	"StartsWith": {"name", "value"},
	"EndsWith":   {"name", "value"},
	"Between":    {"name", "fromValue", "toValue"},
	"And":        {"filters"},
	"Or":         {"filters"},
	"Not":        {"filter"},
}

// filterError says what is wrong with a filter and where, as a JSON pointer
// into it.
type filterError struct {
	pointer, reason string
}

func (e *filterError) Error() string {
	if e.pointer == "" {
		return e.reason
	}
	return e.pointer + ": " + e.reason
}

// ParseFilter reads a filter from its JSON text. fields are the properties of
// the schema the filter is about, by name.
func ParseFilter(text string, fields openapi3.Schemas) (*Filter, error) {
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.UseNumber()
	var v any
	if err := decoder.Decode(&v); err != nil {
		return nil, &filterError{reason: fmt.Sprintf("not valid JSON: %v", err)}
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return nil, &filterError{reason: "not valid JSON: something follows the filter"}
	}
	return compileFilter(v, "", fields)
}

func compileFilter(v any, at string, fields openapi3.Schemas) (*Filter, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &filterError{at, fmt.Sprintf(`a filter is a JSON object such as {"type":"Equals","name":"...","value":...}, not %s`, jsonKind(v))}
	}
	kind, ok := obj["type"].(string)
	if !ok {
		return nil, &filterError{at, `"type" is missing or not a string; want one of ` + filterTypes()}
	}
	members, ok := filterMembers[kind]
	if !ok {
		return nil, &filterError{at + "/type", fmt.Sprintf("unknown filter type %q; want one of %s", kind, filterTypes())}
	}
	for member := range obj {
		if member != "type" && !slices.Contains(members, member) {
			return nil, &filterError{at, fmt.Sprintf("unknown member %q: a %s filter has %s", member, kind, quoteAll(members))}
		}
	}
	for _, member := range members {
		if _, ok := obj[member]; !ok {
			return nil, &filterError{at, fmt.Sprintf("a %s filter needs %q", kind, member)}
		}
	}

	f := &Filter{kind: kind}
	switch kind {
	case "And", "Or":
		list, ok := obj["filters"].([]any)
		if !ok || len(list) == 0 {
			return nil, &filterError{at + "/filters", "want an array of at least one filter"}
		}
		for i, item := range list {
			child, err := compileFilter(item, fmt.Sprintf("%s/filters/%d", at, i), fields)
			if err != nil {
				return nil, err
			}
			f.children = append(f.children, child)
		}
		return f, nil
	case "Not":
		child, err := compileFilter(obj["filter"], at+"/filter", fields)
		if err != nil {
			return nil, err
		}
		f.children = []*Filter{child}
		return f, nil
	}

	name, ok := obj["name"].(string)
	if !ok {
		return nil, &filterError{at + "/name", "want the name of a field, a string"}
	}
	ref, ok := fields[name]
	if !ok || ref.Value == nil {
		return nil, &filterError{at + "/name", fmt.Sprintf("unknown field %q; the fields are %s", name, quoteAll(fieldNames(fields)))}
	}
	schema := ref.Value
	f.name = name
	switch kind {
	case "Contains", "StartsWith", "EndsWith":
		if !schema.Type.Is(openapi3.TypeString) {
			return nil, &filterError{at + "/name", fmt.Sprintf("field %q is not a string: %s does not apply", name, kind)}
		}
		// A part of a value: any string, not necessarily one the field allows.
		if _, ok := obj["value"].(string); !ok {
			return nil, &filterError{at + "/value", fmt.Sprintf("want a string, not %s", jsonKind(obj["value"]))}
		}
		f.value = obj["value"]
	case "Between":
		if !orderable(schema) {
			return nil, &filterError{at + "/name", fmt.Sprintf("field %q is neither a string nor a number: Between does not apply", name)}
		}
		for _, member := range []string{"fromValue", "toValue"} {
			if err := checkValue(schema, obj[member], at+"/"+member); err != nil {
				return nil, err
			}
		}
		var err error
		if f.from, err = filterValue(schema, obj["fromValue"], at+"/fromValue"); err != nil {
			return nil, err
		}
		if f.to, err = filterValue(schema, obj["toValue"], at+"/toValue"); err != nil {
			return nil, err
		}
	default: // Equals, NotEquals
		if !orderable(schema) && !schema.Type.Is(openapi3.TypeBoolean) {
			return nil, &filterError{at + "/name", fmt.Sprintf("field %q holds no single value: %s does not apply", name, kind)}
		}
		if err := checkValue(schema, obj["value"], at+"/value"); err != nil {
			return nil, err
		}
		var err error
		if f.value, err = filterValue(schema, obj["value"], at+"/value"); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// number is a JSON number parsed once, when the filter is read: exactly when
// it is an integer, else as a float64. Parsing it again for every record
// would let a number like 1e-999999 cost milliseconds per comparison.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func parseNumber(n json.Number) (number, bool) {
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return number{i: i, f: float64(i), isInt: true}, true
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return number{}, false
	}
	return number{f: f}, true
}

func (a number) compare(b number) int {
	if a.isInt && b.isInt {
		return cmp.Compare(a.i, b.i)
	}
	return cmp.Compare(a.f, b.f)
}

// filterValue returns v ready for comparisons: numbers parsed, and integer
// fields given integers only.
func filterValue(schema *openapi3.Schema, v any, at string) (any, error) {
	n, ok := v.(json.Number)
	if !ok {
		return v, nil
	}
	parsed, ok := parseNumber(n)
	switch {
	case !ok:
		return nil, &filterError{at, fmt.Sprintf("number %s is out of range", n)}
	case schema.Type.Is(openapi3.TypeInteger) && !parsed.isInt:
		return nil, &filterError{at, fmt.Sprintf("field takes integers from %d to %d, not %s", math.MinInt64, math.MaxInt64, n)}
	}
	return parsed, nil
}

// checkValue holds a filter value against the field's schema, so that an enum
// field takes only its values and a number field only numbers.
func checkValue(schema *openapi3.Schema, v any, at string) error {
	if err := schema.VisitJSON(v); err != nil {
		return &filterError{at, contract.DescribeSchemaError(err)}
	}
	return nil
}

func orderable(s *openapi3.Schema) bool {
	return s.Type.Is(openapi3.TypeString) || s.Type.Is(openapi3.TypeInteger) || s.Type.Is(openapi3.TypeNumber)
}

// Match reports whether a record, given as its JSON fields, passes f. A field
// the record lacks matches no comparison but NotEquals.
func (f *Filter) Match(fields map[string]any) bool {
	switch f.kind {
	case "And":
		for _, c := range f.children {
			if !c.Match(fields) {
				return false
			}
		}
		return true
	case "Or":
		for _, c := range f.children {
			if c.Match(fields) {
				return true
			}
		}
		return false
	case "Not":
		return !f.children[0].Match(fields)
	case "NotEquals":
		return !(&Filter{kind: "Equals", name: f.name, value: f.value}).Match(fields)
	}
	v, ok := fields[f.name]
	if !ok || v == nil {
		return false
	}
	switch f.kind {
	case "Equals":
		c, ok := compareValues(v, f.value)
		return ok && c == 0
	case "Between":
		low, okLow := compareValues(v, f.from)
		high, okHigh := compareValues(v, f.to)
		return okLow && okHigh && low >= 0 && high <= 0
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	part, _ := f.value.(string)
	switch f.kind {
	case "Contains":
		return strings.Contains(s, part)
	case "StartsWith":
		return strings.HasPrefix(s, part)
	default: // EndsWith
		return strings.HasSuffix(s, part)
	}
}

// compareValues orders two JSON scalars of the same kind; ok is false when
// they cannot be compared. Numbers are compared exactly.
func compareValues(a, b any) (int, bool) {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return strings.Compare(a, b), ok
	case bool:
		b, ok := b.(bool)
		if !ok || a == b {
			return 0, ok
		}
		return 1, true
	case json.Number:
		b, ok := b.(number)
		if !ok {
			return 0, false
		}
		x, ok := parseNumber(a)
		if !ok {
			return 0, false
		}
		return x.compare(b), true
	}
	return 0, false
}

// RecordFields turns a record into its JSON fields, the form filters match.
func RecordFields(record any) (map[string]any, error) {
	b, err := json.Marshal(record)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	decoder := json.NewDecoder(bytes.NewReader(b))
	decoder.UseNumber()
	var fields map[string]any
	if err := decoder.Decode(&fields); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	return fields, nil
}

func filterTypes() string {
	types := make([]string, 0, len(filterMembers))
	for t := range filterMembers {
		types = append(types, t)
	}
	slices.Sort(types)
	return strings.Join(types, ", ")
}

func fieldNames(fields openapi3.Schemas) []string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	}
	return "an object"
}
