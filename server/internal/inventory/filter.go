package inventory

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/contract"
)

// A Filter is a filter of Horizon's filter language, compiled against the
// properties of a spec schema (SessionInfo): field names, and the values each
// field can hold, come from the spec. A field is a property that holds one
// value (a string, number or boolean), or such a property of an object that
// a property holds, named with a dot: "client_data.type".
type Filter struct {
	kind     string
	path     []string // the field, for comparisons: its name split at the dots
	value    any      // Equals, NotEquals, Contains, StartsWith, EndsWith
	from, to any      // Between
	children []*Filter
}

// FilterError says what is wrong with a filter and where, as a JSON pointer
// into it.
type FilterError struct {
	pointer, reason string
}

func (e *FilterError) Error() string {
	if e.pointer == "" {
		return e.reason
	}
	return e.pointer + ": " + e.reason
}

// Compile checks a filter, whose shape the spec's SessionFilter has already
// checked, against what the spec cannot say there: that each name is a field
// of fields (the properties of the schema the filter is about, by name, and
// through dots those of the objects they hold) that holds one value, and
// that values fit that field. A *FilterError says what is wrong.
func Compile(f model.SessionFilter, fields openapi3.Schemas) (*Filter, error) {
	return compile(f, "", fields)
}

func compile(f model.SessionFilter, at string, fields openapi3.Schemas) (*Filter, error) {
	kind, err := f.Discriminator()
	if err != nil {
		return nil, fmt.Errorf("read the type of filter %q: %w", at, err)
	}
	switch kind {
	case "Equals":
		return as(f, func(v model.EqualsFilter) (*Filter, error) { return comparison(kind, v.Name, v.Value, at, fields) })
	case "NotEquals":
		return as(f, func(v model.NotEqualsFilter) (*Filter, error) { return comparison(kind, v.Name, v.Value, at, fields) })
	case "Contains":
		return as(f, func(v model.ContainsFilter) (*Filter, error) { return textMatch(kind, v.Name, v.Value, at, fields) })
	case "StartsWith":
		return as(f, func(v model.StartsWithFilter) (*Filter, error) { return textMatch(kind, v.Name, v.Value, at, fields) })
	case "EndsWith":
		return as(f, func(v model.EndsWithFilter) (*Filter, error) { return textMatch(kind, v.Name, v.Value, at, fields) })
	case "Between":
		return as(f, func(v model.BetweenFilter) (*Filter, error) { return between(v, at, fields) })
	case "And":
		return as(f, func(v model.AndFilter) (*Filter, error) { return combine(kind, v.Filters, at, fields) })
	case "Or":
		return as(f, func(v model.OrFilter) (*Filter, error) { return combine(kind, v.Filters, at, fields) })
	case "Not":
		return as(f, func(v model.NotFilter) (*Filter, error) {
			child, err := compile(v.Filter, at+"/filter", fields)
			if err != nil {
				return nil, err
			}
			return &Filter{kind: kind, children: []*Filter{child}}, nil
		})
	}
	return nil, &FilterError{at + "/type", fmt.Sprintf("unknown filter type %q", kind)}
}

// as reads f as the generated type T of its kind and compiles that. Unlike
// the generated As methods it keeps numbers exact, as json.Number: a float64
// would round integers past 2^53 and make 1e-999999 the integer 0.
func as[T any](f model.SessionFilter, compile func(T) (*Filter, error)) (*Filter, error) {
	var v T
	raw, err := f.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode filter: %w", err)
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	if err := decoder.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode filter as %T: %w", v, err)
	}
	return compile(v)
}

func combine(kind string, filters []model.SessionFilter, at string, fields openapi3.Schemas) (*Filter, error) {
	if len(filters) == 0 { // the spec's minItems, should the validator not have run
		return nil, &FilterError{at + "/filters", "want at least one filter"}
	}
	f := &Filter{kind: kind}
	for i, item := range filters {
		child, err := compile(item, fmt.Sprintf("%s/filters/%d", at, i), fields)
		if err != nil {
			return nil, err
		}
		f.children = append(f.children, child)
	}
	return f, nil
}

// fieldSeparator joins the name of an object property and the name of one of
// its own properties into the name of a field: "client_data.type".
const fieldSeparator = "."

// field returns the schema of the field a filter names, and the name's path.
// Objects and arrays hold no one value that a filter could compare: a filter
// on one is refused, with what to filter on instead.
func field(name, at string, fields openapi3.Schemas) (*openapi3.Schema, []string, error) {
	path := strings.Split(name, fieldSeparator)
	properties := fields
	var schema *openapi3.Schema
	for i, part := range path {
		ref, ok := properties[part]
		if !ok || ref.Value == nil || (i < len(path)-1 && !isObject(ref.Value)) {
			return nil, nil, &FilterError{at + "/name", fmt.Sprintf("unknown field %q; the fields are %s", name, contract.QuoteAll(filterable(fields, "")))}
		}
		schema, properties = ref.Value, ref.Value.Properties
	}
	switch {
	case isObject(schema):
		inside := filterable(schema.Properties, name+fieldSeparator)
		if len(inside) == 0 {
			return nil, nil, &FilterError{at + "/name", fmt.Sprintf("field %q is an object without fields that filters apply to", name)}
		}
		return nil, nil, &FilterError{at + "/name", fmt.Sprintf("field %q is an object: filter on one of its fields, %s", name, contract.QuoteAll(inside))}
	case schema.Type.Is(openapi3.TypeArray):
		return nil, nil, &FilterError{at + "/name", fmt.Sprintf("field %q is a list: filters apply only to fields that hold one value", name)}
	}
	return schema, path, nil
}

// filterable lists the fields that filters apply to, by name, sorted: the
// properties that hold one value, and those of the objects that properties
// hold, prefix before each name.
func filterable(properties openapi3.Schemas, prefix string) []string {
	var names []string
	for name, ref := range properties {
		switch s := ref.Value; {
		case s == nil || s.Type.Is(openapi3.TypeArray):
		case isObject(s):
			names = append(names, filterable(s.Properties, prefix+name+fieldSeparator)...)
		default:
			names = append(names, prefix+name)
		}
	}
	slices.Sort(names)
	return names
}

func isObject(s *openapi3.Schema) bool {
	return s.Type.Is(openapi3.TypeObject) || len(s.Properties) > 0
}

// comparison compiles Equals and NotEquals.
func comparison(kind, name string, value any, at string, fields openapi3.Schemas) (*Filter, error) {
	schema, path, err := field(name, at, fields)
	if err != nil {
		return nil, err
	}
	if !orderable(schema) && !schema.Type.Is(openapi3.TypeBoolean) {
		return nil, &FilterError{at + "/name", fmt.Sprintf("field %q holds no single value: %s does not apply", name, kind)}
	}
	if value, err = fieldValue(schema, value, at+"/value"); err != nil {
		return nil, err
	}
	return &Filter{kind: kind, path: path, value: value}, nil
}

// textMatch compiles Contains, StartsWith and EndsWith. Their text is a part
// of a value: any string, not necessarily one the field allows.
func textMatch(kind, name, text, at string, fields openapi3.Schemas) (*Filter, error) {
	schema, path, err := field(name, at, fields)
	if err != nil {
		return nil, err
	}
	if !schema.Type.Is(openapi3.TypeString) {
		return nil, &FilterError{at + "/name", fmt.Sprintf("field %q is not a string: %s does not apply", name, kind)}
	}
	return &Filter{kind: kind, path: path, value: text}, nil
}

func between(v model.BetweenFilter, at string, fields openapi3.Schemas) (*Filter, error) {
	schema, path, err := field(v.Name, at, fields)
	if err != nil {
		return nil, err
	}
	if !orderable(schema) {
		return nil, &FilterError{at + "/name", fmt.Sprintf("field %q is neither a string nor a number: Between does not apply", v.Name)}
	}
	from, err := fieldValue(schema, v.FromValue, at+"/fromValue")
	if err != nil {
		return nil, err
	}
	to, err := fieldValue(schema, v.ToValue, at+"/toValue")
	if err != nil {
		return nil, err
	}
	return &Filter{kind: "Between", path: path, from: from, to: to}, nil
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

// fieldValue holds a filter value against the field's schema, so that an
// enum field takes only its values and a number field only numbers, and
// returns it ready for comparisons: numbers parsed, integer fields given
// integers only.
func fieldValue(schema *openapi3.Schema, v any, at string) (any, error) {
	n, isNumber := v.(json.Number)
	var parsed number
	if isNumber {
		var ok bool
		if parsed, ok = parseNumber(n); !ok {
			return nil, &FilterError{at, fmt.Sprintf("number %s is out of range", n)}
		}
	}
	if err := schema.VisitJSON(v); err != nil {
		return nil, &FilterError{at, contract.DescribeSchemaError(err)}
	}
	switch {
	case !isNumber:
		return v, nil
	case schema.Type.Is(openapi3.TypeInteger) && !parsed.isInt:
		return nil, &FilterError{at, fmt.Sprintf("field takes integers from %d to %d, not %s", math.MinInt64, math.MaxInt64, n)}
	}
	return parsed, nil
}

func orderable(s *openapi3.Schema) bool {
	return s.Type.Is(openapi3.TypeString) || s.Type.Is(openapi3.TypeInteger) || s.Type.Is(openapi3.TypeNumber)
}

// Match reports whether a record, given as its JSON fields, passes f. A field
// the record lacks, or whose object it lacks, matches no comparison but
// NotEquals.
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
		return !(&Filter{kind: "Equals", path: f.path, value: f.value}).Match(fields)
	}
	v, ok := lookup(fields, f.path)
	if !ok {
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

// lookup returns the value at path in a record's JSON fields; ok is false
// when the record, or an object on the way, lacks it.
func lookup(fields map[string]any, path []string) (v any, ok bool) {
	for i, name := range path {
		if v, ok = fields[name]; !ok || v == nil {
			return nil, false
		}
		if i < len(path)-1 {
			if fields, ok = v.(map[string]any); !ok {
				return nil, false
			}
		}
	}
	return v, true
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
