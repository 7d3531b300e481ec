package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// filterField is a field that filters name: a property of SessionInfo, or
// one of an object property, named with a dot, with its x-filters.
type filterField struct {
	name   string
	path   []string
	schema *openapi3.Schema
	takes  []string
}

// filterFields lists the fields whose x-filters list a filter type, sorted.
func filterFields(properties openapi3.Schemas, prefix string, path []string) []filterField {
	var out []filterField
	for _, name := range slices.Sorted(maps.Keys(properties)) {
		s := properties[name].Value
		at := append(slices.Clip(path), name)
		if s.Type.Is(openapi3.TypeObject) {
			out = append(out, filterFields(s.Properties, prefix+name+".", at)...)
			continue
		}
		var takes []string
		if list, ok := s.Extensions["x-filters"].([]any); ok {
			for _, kind := range list {
				takes = append(takes, fmt.Sprint(kind))
			}
		}
		if len(takes) > 0 {
			out = append(out, filterField{prefix + name, at, s, takes})
		}
	}
	return out
}

// leafTypes are the filter types that compare a field, and how each would
// select a session whose field is v (has says whether it has the field),
// given value.
var leafTypes = map[string]func(v any, has bool, value any) bool{
	"Equals":    func(v any, has bool, value any) bool { return has && fmt.Sprint(v) == fmt.Sprint(value) },
	"NotEquals": func(v any, has bool, value any) bool { return !has || fmt.Sprint(v) != fmt.Sprint(value) },
	"Contains": func(v any, _ bool, value any) bool {
		if list, ok := v.([]any); ok {
			return slices.Contains(list, value)
		}
		s, ok := v.(string)
		return ok && strings.Contains(s, fmt.Sprint(value))
	},
	"StartsWith": func(v any, _ bool, value any) bool {
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, fmt.Sprint(value))
	},
	"EndsWith": func(v any, _ bool, value any) bool {
		s, ok := v.(string)
		return ok && strings.HasSuffix(s, fmt.Sprint(value))
	},
	"Between": func(v any, has bool, value any) bool { return has && fmt.Sprint(v) == fmt.Sprint(value) },
}

// textTypes are the filter types whose value the schema wants as text.
var textTypes = map[string]bool{"Contains": true, "StartsWith": true, "EndsWith": true}

// Every field of the spec's SessionInfo that lists filter types (x-filters),
// nested ones included, takes each of them, with a value of its type, and it
// selects the demo sessions it should; every other type that compares a
// field is refused with 400 that says which types the field takes, and a
// value of another type with 400 too. The demo sessions give every such
// field a value. As Horizon 2111 documents them: Equals on every field that
// holds one value, NotEquals also on session_state, Contains on
// application_names.
func TestListSessionsFiltersEveryField(t *testing.T) {
	t.Parallel()
	srv := newDemoServer(t)
	demo, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	records := make([]map[string]any, len(demo))
	for i, s := range demo {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		decodeExact(t, b, &records[i])
	}
	fields := filterFields(spectest.Load(t).Doc().Components.Schemas["SessionInfo"].Value.Properties, "", nil)
	if len(fields) < 28 {
		t.Fatalf("only %d fields to filter on", len(fields))
	}
	takes := map[string][]string{}
	for _, f := range fields {
		takes[f.name] = f.takes
	}
	if diff := cmp.Diff(horizon2111Filters(fields), takes); diff != "" {
		t.Errorf("x-filters, against Horizon 2111's (-Horizon +spec):\n%s", diff)
	}
	for _, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			value, ok := any(nil), false
			for _, r := range records {
				if value, ok = valueAt(r, f.path); ok {
					break
				}
			}
			if !ok {
				t.Fatalf("no demo session has %s: the demo data should show every field", f.name)
			}
			if list, isList := value.([]any); isList {
				value = list[0] // Contains takes one of the list's values
			}
			for kind, selects := range leafTypes {
				literal := jsonText(t, value)
				if textTypes[kind] { // the schema wants text, whatever the field
					literal = jsonText(t, fmt.Sprint(value))
				}
				filter := `{"type":"` + kind + `","name":"` + f.name + `","value":` + literal + `}`
				if kind == "Between" {
					filter = `{"type":"Between","name":"` + f.name + `","fromValue":` + literal + `,"toValue":` + literal + `}`
				}
				resp, got := srv.listSessions(t, url.Values{"filter": {filter}})
				if !slices.Contains(f.takes, kind) {
					e := wantError(t, resp, http.StatusBadRequest, `query parameter "filter": /type: field "`+f.name+`" takes `)
					if !strings.HasSuffix(e.ErrorMessage, "not "+kind) {
						t.Errorf("%s: %s, want it to end with not %s", filter, e.ErrorMessage, kind)
					}
					continue
				}
				want := []string{}
				for i, r := range records {
					if v, has := valueAt(r, f.path); selects(v, has, value) {
						want = append(want, demoOrder[i])
					}
				}
				if resp.status != http.StatusOK {
					t.Errorf("%s: status %d, body %s", filter, resp.status, resp.body)
				} else if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: sessions (-want +got):\n%s", filter, diff)
				}
			}
			wrong, refusal := `true`, "value must be a"
			switch {
			case f.schema.Type.Is(openapi3.TypeInteger):
				wrong = `"1"`
			case f.schema.Type.Is(openapi3.TypeBoolean):
				wrong = `"true"`
			case len(f.schema.Enum) > 0:
				refusal = "value is not one of the allowed values"
			}
			kind := f.takes[0]
			resp, _ := srv.listSessions(t, url.Values{"filter": {`{"type":"` + kind + `","name":"` + f.name + `","value":` + wrong + `}`}})
			wantError(t, resp, http.StatusBadRequest, `query parameter "filter": /value: `+refusal)
		})
	}
}

// horizon2111Filters is what Horizon 2111's reference says of fields: Equals
// on each that holds one value, and NotEquals besides on session_state;
// Contains on application_names, a list.
func horizon2111Filters(fields []filterField) map[string][]string {
	want := map[string][]string{}
	for _, f := range fields {
		switch {
		case f.name == "session_state":
			want[f.name] = []string{"Equals", "NotEquals"}
		case f.schema.Type.Is(openapi3.TypeArray):
			want[f.name] = []string{"Contains"}
		default:
			want[f.name] = []string{"Equals"}
		}
	}
	return want
}

// valueAt returns the value at path in a session's JSON fields.
func valueAt(record map[string]any, path []string) (any, bool) {
	var v any = record
	for _, name := range path {
		object, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = object[name]; !ok {
			return nil, false
		}
	}
	return v, true
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decodeExact decodes JSON keeping numbers exact.
func decodeExact(t *testing.T, b []byte, v any) {
	t.Helper()
	decoder := json.NewDecoder(bytes.NewReader(b))
	decoder.UseNumber()
	if err := decoder.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
