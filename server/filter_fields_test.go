package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// filterField is a field that filters apply to: a property of SessionInfo
// that holds one value, or one of an object property, named with a dot.
type filterField struct {
	name   string
	path   []string
	schema *openapi3.Schema
}

// filterFields lists the fields the spec's schema gives filters, sorted.
func filterFields(properties openapi3.Schemas, prefix string, path []string) []filterField {
	var out []filterField
	for _, name := range slices.Sorted(maps.Keys(properties)) {
		s := properties[name].Value
		at := append(slices.Clip(path), name)
		switch {
		case s.Type.Is(openapi3.TypeArray):
		case s.Type.Is(openapi3.TypeObject):
			out = append(out, filterFields(s.Properties, prefix+name+".", at)...)
		default:
			out = append(out, filterField{prefix + name, at, s})
		}
	}
	return out
}

// Every field of the spec's SessionInfo that holds one value, nested ones
// included, takes Equals and NotEquals, and Between when it is a string or an
// integer, with a value of its type, and selects the demo sessions that hold
// that value; a value of another type is refused with 400. The demo sessions
// give every such field a value.
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
	if len(fields) < 22 {
		t.Fatalf("only %d fields to filter on", len(fields))
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
			var equal, other []string
			for i, r := range records {
				if v, ok := valueAt(r, f.path); ok && fmt.Sprint(v) == fmt.Sprint(value) {
					equal = append(equal, demoOrder[i])
				} else {
					other = append(other, demoOrder[i])
				}
			}
			literal := jsonText(t, value)
			filters := map[string][]string{
				`{"type":"Equals","name":"` + f.name + `","value":` + literal + `}`:    equal,
				`{"type":"NotEquals","name":"` + f.name + `","value":` + literal + `}`: other,
			}
			wrong := `true`
			switch {
			case f.schema.Type.Is(openapi3.TypeString):
				filters[`{"type":"Between","name":"`+f.name+`","fromValue":`+literal+`,"toValue":`+literal+`}`] = equal
			case f.schema.Type.Is(openapi3.TypeInteger):
				filters[`{"type":"Between","name":"`+f.name+`","fromValue":`+literal+`,"toValue":`+literal+`}`] = equal
				wrong = `"1"`
			case f.schema.Type.Is(openapi3.TypeBoolean):
				wrong = `"true"`
			default:
				t.Fatalf("a field of type %v", f.schema.Type)
			}
			for filter, want := range filters {
				resp, got := srv.listSessions(t, url.Values{"filter": {filter}})
				if resp.status != http.StatusOK {
					t.Errorf("%s: status %d, body %s", filter, resp.status, resp.body)
					continue
				}
				if diff := cmp.Diff(append([]string{}, want...), got); diff != "" {
					t.Errorf("%s: sessions (-want +got):\n%s", filter, diff)
				}
			}
			refusal := "value must be a"
			if len(f.schema.Enum) > 0 {
				refusal = "value is not one of the allowed values"
			}
			resp, _ := srv.listSessions(t, url.Values{"filter": {`{"type":"Equals","name":"` + f.name + `","value":` + wrong + `}`}})
			wantError(t, resp, http.StatusBadRequest, `query parameter "filter": /value: `+refusal)
		})
	}
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
