package sessions

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/contract"
)

// A Filter is a filter of Horizon's filter language, compiled against the
// fields that the spec gives filters (see Fields).
type Filter struct {
	kind     string
	index    []int // the field in model.SessionInfo, struct field by struct field
	list     bool  // the field is a list: Contains means "holds"
	value    any   // Equals, NotEquals, Contains, StartsWith, EndsWith
	from, to any   // Between
	children []*Filter
	// oneOf, for an Or of Equals on one string field (a list of ids, say),
	// holds their values: one lookup per session instead of one
	// comparison per value.
	oneOf map[string]struct{}
}

// Limits of a filter: its JSON text, how deep filters nest in it, and how
// many filters it holds in all (And, Or and Not count too). Matching costs
// terms × sessions comparisons: with these, at most about 10 million over
// the 20000 sessions of a Horizon pod.
const (
	MaxFilterBytes = 32 << 10
	MaxFilterDepth = 16
	MaxFilterTerms = 512
)

// CheckFilterText refuses the JSON text of a filter over MaxFilterBytes,
// before it is decoded.
func CheckFilterText(text string) error {
	if len(text) > MaxFilterBytes {
		return &FilterError{"", fmt.Sprintf("%d bytes, over the limit of %d bytes of JSON", len(text), MaxFilterBytes)}
	}
	return nil
}

// CheckFilterShape refuses a decoded filter (JSON objects as map[string]any,
// numbers as json.Number) that nests filters deeper than MaxFilterDepth or
// holds more than MaxFilterTerms, before its schema is checked: the schema
// check of a oneOf costs per alternative, at every level. It also refuses a
// value that is a number out of float64's range.
func CheckFilterShape(value any) error {
	terms := 0
	var walk func(v any, at string, depth int) error
	walk = func(v any, at string, depth int) error {
		object, ok := v.(map[string]any)
		if !ok {
			return nil // the schema says what is wrong
		}
		if depth > MaxFilterDepth {
			return &FilterError{at, fmt.Sprintf("filters nested deeper than the limit of %d", MaxFilterDepth)}
		}
		if terms++; terms > MaxFilterTerms {
			return &FilterError{at, fmt.Sprintf("more filters than the limit of %d", MaxFilterTerms)}
		}
		// A number no float64 holds would meet the schema as an error
		// about conversion; said here, it is said plainly.
		for _, key := range []string{"value", "fromValue", "toValue"} {
			if n, ok := object[key].(json.Number); ok {
				if _, ok := parseNumber(n); !ok {
					return &FilterError{at + "/" + key, fmt.Sprintf("number %s is out of range", n)}
				}
			}
		}
		if children, ok := object["filters"].([]any); ok {
			for i, child := range children {
				if err := walk(child, fmt.Sprintf("%s/filters/%d", at, i), depth+1); err != nil {
					return err
				}
			}
		}
		return walk(object["filter"], at+"/filter", depth+1)
	}
	return walk(value, "", 1)
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
// checked, against what the schema cannot say there: that each field takes
// the filter's type, and that values fit the field. A *FilterError says what
// is wrong.
func Compile(f model.SessionFilter, fields *Fields) (*Filter, error) {
	return compile(f, "", fields)
}

func compile(f model.SessionFilter, at string, fields *Fields) (*Filter, error) {
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

func combine(kind string, filters []model.SessionFilter, at string, fields *Fields) (*Filter, error) {
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
	if kind == "Or" {
		f.oneOf = equalsSet(f.children)
	}
	return f, nil
}

// equalsSet returns the values of filters when each is an Equals on the same
// field with a string value, else nil.
func equalsSet(filters []*Filter) map[string]struct{} {
	set := make(map[string]struct{}, len(filters))
	for _, c := range filters {
		s, ok := c.value.(string)
		if c.kind != "Equals" || !ok || !slices.Equal(c.index, filters[0].index) {
			return nil
		}
		set[s] = struct{}{}
	}
	return set
}

// comparison compiles Equals and NotEquals.
func comparison(kind string, name model.SessionFieldName, value any, at string, fields *Fields) (*Filter, error) {
	f, err := fields.taking(kind, name, at)
	if err != nil {
		return nil, err
	}
	if value, err = fieldValue(f.schema, value, at+"/value"); err != nil {
		return nil, err
	}
	return &Filter{kind: kind, index: f.index, value: value}, nil
}

// textMatch compiles Contains, StartsWith and EndsWith. On a text field their
// text is a part of a value: any string, not necessarily one the field
// allows. On a list (Contains only) it is one of the list's values.
func textMatch(kind string, name model.SessionFieldName, text, at string, fields *Fields) (*Filter, error) {
	f, err := fields.taking(kind, name, at)
	if err != nil {
		return nil, err
	}
	if f.list {
		if _, err := fieldValue(f.schema.Items.Value, text, at+"/value"); err != nil {
			return nil, err
		}
	}
	return &Filter{kind: kind, index: f.index, list: f.list, value: text}, nil
}

func between(v model.BetweenFilter, at string, fields *Fields) (*Filter, error) {
	f, err := fields.taking("Between", v.Name, at)
	if err != nil {
		return nil, err
	}
	from, err := fieldValue(f.schema, v.FromValue, at+"/fromValue")
	if err != nil {
		return nil, err
	}
	to, err := fieldValue(f.schema, v.ToValue, at+"/toValue")
	if err != nil {
		return nil, err
	}
	return &Filter{kind: "Between", index: f.index, from: from, to: to}, nil
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

// Match reports whether a session passes f. A field the session lacks, or
// whose object it lacks, matches no comparison but NotEquals. The session is
// read as it is, field by field: nothing is encoded.
func (f *Filter) Match(session *model.SessionInfo) bool {
	return f.match(reflect.ValueOf(session).Elem())
}

func (f *Filter) match(session reflect.Value) bool {
	switch f.kind {
	case "And":
		for _, c := range f.children {
			if !c.match(session) {
				return false
			}
		}
		return true
	case "Or":
		if f.oneOf != nil {
			v := scalar(fieldAt(session, f.children[0].index))
			_, found := f.oneOf[v.s]
			return v.kind == kindString && found
		}
		for _, c := range f.children {
			if c.match(session) {
				return true
			}
		}
		return false
	case "Not":
		return !f.children[0].match(session)
	case "NotEquals":
		v := scalar(fieldAt(session, f.index))
		if v.kind == kindAbsent {
			return true
		}
		c, ok := v.compare(f.value)
		return !ok || c != 0
	}
	part, _ := f.value.(string)
	if f.list {
		return holds(fieldAt(session, f.index), part)
	}
	v := scalar(fieldAt(session, f.index))
	if v.kind == kindAbsent {
		return false
	}
	switch f.kind {
	case "Equals":
		c, ok := v.compare(f.value)
		return ok && c == 0
	case "Between":
		low, okLow := v.compare(f.from)
		high, okHigh := v.compare(f.to)
		return okLow && okHigh && low >= 0 && high <= 0
	}
	if v.kind != kindString {
		return false
	}
	switch f.kind {
	case "Contains":
		return strings.Contains(v.s, part)
	case "StartsWith":
		return strings.HasPrefix(v.s, part)
	default: // EndsWith
		return strings.HasSuffix(v.s, part)
	}
}

// holds reports whether a session's list field (a slice of strings, or a
// pointer to one; nil: absent) holds value.
func holds(list reflect.Value, value string) bool {
	if list.Kind() == reflect.Pointer {
		if list.IsNil() {
			return false
		}
		list = list.Elem()
	}
	if list.Kind() != reflect.Slice {
		return false
	}
	for i := range list.Len() {
		if item := list.Index(i); item.Kind() == reflect.String && item.String() == value {
			return true
		}
	}
	return false
}

// fieldKind is the kind of a session's field as filters compare it.
type fieldKind uint8

const (
	kindAbsent fieldKind = iota
	kindString
	kindNumber
	kindBool
)

// sessionValue is a field of a session, read without allocating.
type sessionValue struct {
	kind fieldKind
	s    string
	n    number
	b    bool
}

// scalar reads a field of a session as filters compare it: a string, a
// number or a bool; kindAbsent when the field is absent (a nil pointer).
func scalar(v reflect.Value) sessionValue {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return sessionValue{}
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return sessionValue{kind: kindString, s: v.String()}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i := v.Int()
		return sessionValue{kind: kindNumber, n: number{i: i, f: float64(i), isInt: true}}
	case reflect.Float32, reflect.Float64:
		return sessionValue{kind: kindNumber, n: number{f: v.Float()}}
	case reflect.Bool:
		return sessionValue{kind: kindBool, b: v.Bool()}
	}
	return sessionValue{}
}

// compare orders a session's field and a filter's value (a string, a
// number or a bool, as fieldValue leaves it); ok is false when they are
// not of the same kind.
func (a sessionValue) compare(b any) (int, bool) {
	switch a.kind {
	case kindString:
		b, ok := b.(string)
		return strings.Compare(a.s, b), ok
	case kindBool:
		b, ok := b.(bool)
		if !ok || a.b == b {
			return 0, ok
		}
		return 1, true
	case kindNumber:
		b, ok := b.(number)
		if !ok {
			return 0, false
		}
		return a.n.compare(b), true
	}
	return 0, false
}

// fieldAt returns the field of session at index, through the objects on the
// way; the zero Value, which reads as absent, when one of them is absent.
func fieldAt(session reflect.Value, index []int) reflect.Value {
	v := session
	for k, i := range index {
		v = v.Field(i)
		if k < len(index)-1 {
			if v.Kind() != reflect.Pointer || v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		}
	}
	return v
}

// sessionIndex finds the field of model.SessionInfo at path, a JSON name
// per level, through objects held by pointer; ok is false when it has none.
func sessionIndex(path []string) (index []int, ok bool) {
	t := reflect.TypeFor[model.SessionInfo]()
	for k, name := range path {
		if k > 0 {
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Kind() != reflect.Struct {
				return nil, false
			}
		}
		i := jsonField(t, name)
		if i < 0 {
			return nil, false
		}
		index, t = append(index, i), t.Field(i).Type
	}
	return index, len(index) > 0
}

// jsonField is the index of the field of struct type t named name in JSON,
// or -1.
func jsonField(t reflect.Type, name string) int {
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag == name {
			return i
		}
	}
	return -1
}
