package sessions

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/gen/model"
)

// FiltersExtension is the spec extension with which a field of SessionInfo
// (or of an object it holds) lists the filter types that apply to it, as
// Horizon's reference lists each field's "Supported Filters".
const FiltersExtension = "x-filters"

// fieldSeparator joins the name of an object property and the name of one of
// its own properties into the name of a field: "client_data.type".
const fieldSeparator = "."

// Fields are the fields that filters name, read from the spec: each with its
// schema, its place in model.SessionInfo and the filter types it takes.
type Fields struct {
	byName map[string]*field
}

type field struct {
	schema  *openapi3.Schema
	index   []int // the field in model.SessionInfo, struct field by struct field
	list    bool
	filters []string // x-filters, as the spec orders them
}

// applies says which fields each filter type compares: a type the spec lists
// for a field of another kind could not mean anything.
var applies = map[string]func(s *openapi3.Schema) bool{
	string(model.EqualsFilterTypeEquals):         isScalar,
	string(model.NotEqualsFilterTypeNotEquals):   isScalar,
	string(model.ContainsFilterTypeContains):     func(s *openapi3.Schema) bool { return isString(s) || isStringList(s) },
	string(model.StartsWithFilterTypeStartsWith): isString,
	string(model.EndsWithFilterTypeEndsWith):     isString,
	string(model.BetweenFilterTypeBetween):       func(s *openapi3.Schema) bool { return isString(s) || isNumber(s) },
}

// NewFields reads the fields of session (SessionInfo's schema) and the filter
// types each takes (x-filters; none without it). It refuses a type it does
// not know, one that cannot apply to its field, and a field that
// model.SessionInfo does not have.
func NewFields(session *openapi3.Schema) (*Fields, error) {
	fs := &Fields{byName: map[string]*field{}}
	if err := fs.add(session.Properties, ""); err != nil {
		return nil, err
	}
	return fs, nil
}

func (fs *Fields) add(properties openapi3.Schemas, prefix string) error {
	for name, ref := range properties {
		s, name := ref.Value, prefix+name
		if s == nil {
			return fmt.Errorf("sessions: field %s has no schema", name)
		}
		if isObject(s) {
			if err := fs.add(s.Properties, name+fieldSeparator); err != nil {
				return err
			}
			continue
		}
		filters, err := filterTypes(name, s)
		if err != nil || len(filters) == 0 {
			return err
		}
		index, ok := sessionIndex(strings.Split(name, fieldSeparator))
		if !ok {
			return fmt.Errorf("sessions: field %s of the spec is not one of model.SessionInfo", name)
		}
		fs.byName[name] = &field{schema: s, index: index, list: s.Type.Is(openapi3.TypeArray), filters: filters}
	}
	return nil
}

// filterTypes reads the x-filters of field name.
func filterTypes(name string, s *openapi3.Schema) ([]string, error) {
	raw, ok := s.Extensions[FiltersExtension]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("sessions: field %s: %s is not a list of filter types", name, FiltersExtension)
	}
	var filters []string
	for _, v := range list {
		kind, _ := v.(string)
		switch appliesTo, known := applies[kind]; {
		case !known:
			return nil, fmt.Errorf("sessions: field %s: %s names %v; the filter types that compare a field are %s",
				name, FiltersExtension, v, strings.Join(slices.Sorted(maps.Keys(applies)), ", "))
		case !appliesTo(s):
			return nil, fmt.Errorf("sessions: field %s: %s names %s, which does not apply to a field of type %v", name, FiltersExtension, kind, s.Type)
		case slices.Contains(filters, kind):
			return nil, fmt.Errorf("sessions: field %s: %s names %s twice", name, FiltersExtension, kind)
		}
		filters = append(filters, kind)
	}
	return filters, nil
}

// taking returns the field a filter of kind names, or the FilterError that
// says which types the field takes.
func (fs *Fields) taking(kind string, name model.SessionFieldName, at string) (*field, error) {
	f, ok := fs.byName[string(name)]
	if !ok { // the spec's enum refuses it first
		return nil, &FilterError{at + "/name", fmt.Sprintf("unknown field %q; the fields are %s", name, strings.Join(fs.Names(), ", "))}
	}
	if !slices.Contains(f.filters, kind) {
		return nil, &FilterError{at + "/type", fmt.Sprintf("field %q takes %s, not %s", name, orList(f.filters), kind)}
	}
	return f, nil
}

// Names lists the fields that take some filter, sorted.
func (fs *Fields) Names() []string { return slices.Sorted(maps.Keys(fs.byName)) }

// orList joins names as "A", "A or B", "A, B or C".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func isObject(s *openapi3.Schema) bool {
	return s.Type.Is(openapi3.TypeObject) || len(s.Properties) > 0
}

func isString(s *openapi3.Schema) bool { return s.Type.Is(openapi3.TypeString) }

func isNumber(s *openapi3.Schema) bool {
	return s.Type.Is(openapi3.TypeInteger) || s.Type.Is(openapi3.TypeNumber)
}

func isScalar(s *openapi3.Schema) bool {
	return isString(s) || isNumber(s) || s.Type.Is(openapi3.TypeBoolean)
}

func isStringList(s *openapi3.Schema) bool {
	return s.Type.Is(openapi3.TypeArray) && s.Items != nil && s.Items.Value != nil && isString(s.Items.Value)
}
