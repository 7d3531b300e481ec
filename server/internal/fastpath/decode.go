package fastpath

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/server/internal/jsontext"
)

// objectPlan decodes and validates one JSON object into a Go struct, as
// compiled from a spec schema by compileObject.
type objectPlan struct {
	goType   reflect.Type
	props    []propertyPlan
	required uint64 // bit i: props[i] is required
	// openMembers: members the schema does not declare may hold any value
	// (additionalProperties unset or true), so they are skipped.
	openMembers bool
}

type propertyPlan struct {
	name  string
	field int // index of the struct field
	array bool
	// The array's bounds; its items, or the value itself, are strings.
	minItems, maxItems uint64
	hasMaxItems        bool
	// sizeAtMost bounds the room made for items (maxItems + 1); 0: none.
	sizeAtMost int
	// str validates a string value with opts; nil when its schema says no
	// more than "type: string", which every string is, or when plain says
	// all it does.
	str  *openapi3.Schema
	opts []openapi3.SchemaValidationOption
	// plain checks the keywords enum, minLength and maxLength as
	// kin-openapi's Schema.VisitJSON does, without its allocations; nil
	// when the schema has another keyword (a pattern), for VisitJSON.
	plain *plainString
}

// plainString is a string schema of enum, minLength and maxLength only.
type plainString struct {
	enum      []string // nil: any
	minLength uint64
	maxLength *uint64
}

// newPlainString is schema's plainString, or nil when it says more.
func newPlainString(schema *openapi3.Schema) *plainString {
	if schema.Pattern != "" {
		return nil
	}
	p := &plainString{minLength: schema.MinLength, maxLength: schema.MaxLength}
	for _, v := range schema.Enum {
		// A value of another JSON type never equals a string.
		if s, ok := v.(string); ok {
			p.enum = append(p.enum, s)
		}
	}
	if len(schema.Enum) > 0 && p.enum == nil {
		p.enum = []string{} // no string is one of them
	}
	return p
}

// valid is VisitJSON's verdict on the string v.
func (p *plainString) valid(v string) bool {
	if p.enum != nil && !slices.Contains(p.enum, v) {
		return false
	}
	if p.minLength == 0 && p.maxLength == nil {
		return true
	}
	// As kin-openapi counts: a rune each (a Go string never decodes to a
	// surrogate, which it counts twice).
	length := uint64(utf8.RuneCountInString(v)) //nolint:gosec // G115: a count is never negative
	return length >= p.minLength && (p.maxLength == nil || length <= *p.maxLength)
}

// compileObject compiles schema, found at where, for decoding into goType, a
// struct whose fields carry the schema's property names as json tags (the
// generated type). opts are the options for Schema.VisitJSON.
func compileObject(schema *openapi3.Schema, goType reflect.Type, where string, opts []openapi3.SchemaValidationOption) (*objectPlan, error) {
	if err := onlyFields(where, schema, objectSchemaFields); err != nil {
		return nil, err
	}
	if !schema.Type.Is(openapi3.TypeObject) {
		return nil, fmt.Errorf("%w: %s: type is not %q", ErrNotCompiled, where, openapi3.TypeObject)
	}
	if goType.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: %s: %s is not a struct", ErrNotCompiled, where, goType)
	}
	if len(schema.Properties) > 64 {
		return nil, fmt.Errorf("%w: %s: more than 64 properties", ErrNotCompiled, where)
	}
	for _, name := range schema.Required {
		if schema.Properties[name] == nil {
			return nil, fmt.Errorf("%w: %s: required property %q is not declared", ErrNotCompiled, where, name)
		}
	}
	fields := jsonFields(goType)
	plan := &objectPlan{goType: goType}
	if extra := schema.AdditionalProperties; extra.Schema == nil && (extra.Has == nil || *extra.Has) {
		plan.openMembers = true
	}
	for _, name := range slices.Sorted(maps.Keys(schema.Properties)) {
		if !slices.Contains(schema.Required, name) {
			return nil, fmt.Errorf("%w: %s: optional property %q", ErrNotCompiled, where, name)
		}
		field, ok := fields[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s: %s has no field for property %q", ErrNotCompiled, where, goType, name)
		}
		prop, err := compileProperty(name, schema.Properties[name], goType.Field(field).Type, where+".properties."+name, opts)
		if err != nil {
			return nil, err
		}
		prop.field = field
		plan.required |= 1 << len(plan.props)
		plan.props = append(plan.props, prop)
	}
	return plan, nil
}

func compileProperty(name string, ref *openapi3.SchemaRef, fieldType reflect.Type, where string, opts []openapi3.SchemaValidationOption) (propertyPlan, error) {
	prop := propertyPlan{name: name, opts: opts}
	if ref == nil || ref.Value == nil {
		return prop, fmt.Errorf("%w: %s: no schema", ErrNotCompiled, where)
	}
	schema := ref.Value
	if schema.Type.Is(openapi3.TypeArray) {
		if err := onlyFields(where, schema, arraySchemaFields); err != nil {
			return prop, err
		}
		if schema.Items == nil || schema.Items.Value == nil {
			return prop, fmt.Errorf("%w: %s: an array without items", ErrNotCompiled, where)
		}
		if fieldType.Kind() != reflect.Slice || fieldType.Elem().Kind() != reflect.String {
			return prop, fmt.Errorf("%w: %s: an array bound to %s, not to a slice of strings", ErrNotCompiled, where, fieldType)
		}
		prop.array, prop.minItems = true, schema.MinItems
		if schema.MaxItems != nil {
			prop.maxItems, prop.hasMaxItems = *schema.MaxItems, true
			if prop.maxItems < math.MaxInt32 {
				prop.sizeAtMost = int(prop.maxItems) + 1
			}
		}
		schema, fieldType, where = schema.Items.Value, fieldType.Elem(), where+".items"
	}
	if err := onlyFields(where, schema, stringSchemaFields); err != nil {
		return prop, err
	}
	if !schema.Type.Is(openapi3.TypeString) {
		return prop, fmt.Errorf("%w: %s: type %v, neither a string nor an array of strings", ErrNotCompiled, where, schema.Type.Slice())
	}
	if fieldType.Kind() != reflect.String {
		return prop, fmt.Errorf("%w: %s: a string bound to %s", ErrNotCompiled, where, fieldType)
	}
	if setField(schema, docsAnd("Type")) != "" {
		prop.str = schema
		if prop.plain = newPlainString(schema); prop.plain != nil {
			prop.str = nil
		}
	}
	return prop, nil
}

// jsonFields maps the json names of t's fields to their indexes.
func jsonFields(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			fields[name] = i
		}
	}
	return fields
}

// decode decodes the JSON object in s into dst (a settable goType) and
// reports whether s is, for sure, a valid instance of the schema. false means
// "not sure", never "invalid": the generic validator decides then.
//
// A member the schema does not declare, where it allows any, is skipped
// without decoding its value; the whole text is then checked as the
// validator's decoder and strictJSON would check it (one JSON value, in
// UTF-8), so that what a skipped value holds cannot make a difference.
func (p *objectPlan) decode(s string, dst reflect.Value) bool {
	sc := scanner{s: s}
	if !sc.next('{') {
		return false
	}
	var seen uint64
	skipped := false
	if !sc.next('}') {
		for {
			key, plain, ok := sc.str()
			if !ok || !plain {
				return false
			}
			i := p.property(key)
			if i < 0 && p.openMembers {
				if !sc.next(':') || !sc.skip() {
					return false
				}
				skipped = true
				if sc.next(',') {
					continue
				}
				if sc.next('}') {
					break
				}
				return false
			}
			if i < 0 || seen&(1<<i) != 0 || !sc.next(':') {
				return false
			}
			seen |= 1 << i
			if !p.props[i].decode(&sc, dst.Field(p.props[i].field)) {
				return false
			}
			if sc.next(',') {
				continue
			}
			if sc.next('}') {
				break
			}
			return false
		}
	}
	sc.space()
	if sc.i != len(sc.s) || seen&p.required != p.required {
		return false
	}
	return !skipped || jsontext.Check([]byte(s)) == nil
}

func (p *objectPlan) property(name string) int {
	for i := range p.props {
		if p.props[i].name == name {
			return i
		}
	}
	return -1
}

func (p *propertyPlan) decode(sc *scanner, dst reflect.Value) bool {
	if !p.array {
		v, ok := p.string(sc)
		if ok {
			dst.SetString(v)
		}
		return ok
	}
	if !sc.next('[') {
		return false
	}
	// Sized once: no item can be shorter than its two quotes.
	size := strings.Count(sc.s[sc.i:], `"`) / 2
	if p.sizeAtMost > 0 {
		size = min(size, p.sizeAtMost)
	}
	items := make([]string, 0, size)
	if !sc.next(']') {
		for {
			v, ok := p.string(sc)
			if !ok {
				return false
			}
			items = append(items, v)
			if p.hasMaxItems && uint64(len(items)) > p.maxItems {
				return false
			}
			if sc.next(',') {
				continue
			}
			if sc.next(']') {
				break
			}
			return false
		}
	}
	if uint64(len(items)) < p.minItems {
		return false
	}
	if target, ok := addressOf[[]string](dst); ok {
		*target = items // reflect.ValueOf(items) would put the slice on the heap
	} else {
		dst.Set(reflect.ValueOf(items).Convert(dst.Type()))
	}
	return true
}

// string reads a JSON string and checks it with the spec's schema.
func (p *propertyPlan) string(sc *scanner) (string, bool) {
	v, _, ok := sc.str()
	if !ok {
		return "", false
	}
	if p.plain != nil && !p.plain.valid(v) {
		return "", false
	}
	if p.str != nil && p.str.VisitJSON(v, p.opts...) != nil {
		return "", false
	}
	return v, true
}

// scanner reads the JSON text s from i on.
type scanner struct {
	s string
	i int
}

// skip passes over one JSON value after white space, nested ones included,
// without decoding it, up to the comma or the bracket that ends it. It only
// finds the value's end; the caller checks the text's grammar.
func (sc *scanner) skip() bool {
	sc.space()
	depth := 0
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '"':
			if !sc.skipString() {
				return false
			}
		case c == '{' || c == '[':
			depth++
			sc.i++
		case (c == '}' || c == ']') && depth == 0, c == ',' && depth == 0:
			return true
		case c == '}' || c == ']':
			depth--
			sc.i++
		default:
			sc.i++
		}
	}
	return false
}

// skipString passes over the JSON string at sc.i, escapes included.
func (sc *scanner) skipString() bool {
	for j := sc.i + 1; j < len(sc.s); j++ {
		switch sc.s[j] {
		case '\\':
			j++
		case '"':
			sc.i = j + 1
			return true
		}
	}
	return false
}

// space skips JSON white space.
func (sc *scanner) space() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// next skips white space and then c, if c is next.
func (sc *scanner) next(c byte) bool {
	sc.space()
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// str reads a JSON string after white space. A plain string (ASCII, no
// escapes) is a substring of s; any other is decoded by encoding/json, which
// is how the validator decodes it too. A string that is not UTF-8 is not
// read: encoding/json would turn it into U+FFFD, but strictJSON refuses it.
func (sc *scanner) str() (value string, plain, ok bool) {
	sc.space()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
		return "", false, false
	}
	start := sc.i
	plain = true
	for j := start + 1; j < len(sc.s); j++ {
		if plainInString[sc.s[j]] {
			continue
		}
		switch c := sc.s[j]; {
		case c == '"':
			sc.i = j + 1
			if plain {
				return sc.s[start+1 : j], true, true
			}
			return decodeString(sc.s[start : j+1])
		case c == '\\':
			plain = false
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			return "", false, false
		case c >= 0x80:
			plain = false
		}
	}
	return "", false, false
}

// decodeString decodes the JSON string token with encoding/json, if it is
// UTF-8. Escaped lone surrogates (\ud800) are UTF-8 text: encoding/json makes
// them U+FFFD, for the validator as here, and strictJSON lets them through.
func decodeString(token string) (value string, plain, ok bool) {
	if !utf8.ValidString(token) {
		return "", false, false
	}
	var v string
	if err := json.Unmarshal([]byte(token), &v); err != nil {
		return "", false, false
	}
	return v, false, true
}

// plainInString holds the bytes that a JSON string may hold as they are and
// that need no decoding: printable ASCII but the quote and the backslash.
var plainInString = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// addressOf returns dst's address, when dst is an addressable T.
func addressOf[T any](dst reflect.Value) (*T, bool) {
	if !dst.CanAddr() {
		return nil, false
	}
	p, ok := dst.Addr().Interface().(*T)
	return p, ok
}
