package server_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
	"github.com/hzkit/sendmessage/server/internal/sessions"
)

// The demo sessions, by a short name.
var demoIDs = map[string]string{
	"fin1": "7cdd624f-37d1-46c1-ab96-695a5d13956f", // pool-finance, CONNECTED, BLAST, machine-fin-001
	"fin2": "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f", // pool-finance, CONNECTED, PCOIP, user ...1105
	"fin3": "9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", // pool-finance, DISCONNECTED
	"eng1": "4d3c2b1a-6f5e-4d7c-9b8a-0f1e2d3c4b5a", // pool-engineering, CONNECTED, machine-eng-001
	"eng2": "c0ffee00-1234-4abc-8def-0123456789ab", // pool-engineering, PENDING, RDP
	"app":  "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", // farm-office-apps, no pool, CONNECTED, user ...1105
}

var demoOrder = []string{"fin1", "fin2", "fin3", "eng1", "eng2", "app"}

func newDemoServer(t *testing.T) *testServer {
	t.Helper()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, server.Config{Store: server.NewMemoryStore(sessions)})
}

// listSessions calls GET /inventory/v1/sessions with query and returns the
// answer and, when it is a 200, the short names of the sessions in it.
func (ts *testServer) listSessions(t *testing.T, query url.Values) (response, []string) {
	t.Helper()
	path := sessionsPath
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	resp := ts.do(t, ts.request(t, http.MethodGet, path, "Bearer "+testToken, ""))
	if resp.status != http.StatusOK {
		return resp, nil
	}
	names := []string{}
	for _, s := range decodeStrict[[]model.SessionInfo](t, resp.body) {
		names = append(names, shortName(t, s.ID))
	}
	return resp, names
}

func shortName(t *testing.T, id string) string {
	t.Helper()
	for name, known := range demoIDs {
		if known == id {
			return name
		}
	}
	t.Fatalf("session %s is not a demo session", id)
	return ""
}

// Filters as Horizon 2111 documents them: Equals on every field that holds
// one value, NotEquals also on session_state, Contains on application_names.
func TestListSessionsFilters(t *testing.T) {
	t.Parallel()
	checkFilters(t, newDemoServer(t), []filterCase{
		{"no filter", "", demoOrder},
		{"Equals pool", `{"type":"Equals","name":"desktop_pool_id","value":"pool-finance"}`, []string{"fin1", "fin2", "fin3"}},
		{"the guide's And", `{"type":"And","filters":[{"type":"Equals","name":"desktop_pool_id","value":"pool-finance"},{"type":"Equals","name":"session_state","value":"CONNECTED"}]}`, []string{"fin1", "fin2"}},
		{"NotEquals on the state", `{"type":"NotEquals","name":"session_state","value":"CONNECTED"}`, []string{"fin3", "eng2"}},
		{"Or", `{"type":"Or","filters":[{"type":"Equals","name":"desktop_pool_id","value":"pool-engineering"},{"type":"Equals","name":"farm_id","value":"farm-office-apps"}]}`, []string{"eng1", "eng2", "app"}},
		{"Not", `{"type":"Not","filter":{"type":"Equals","name":"session_state","value":"CONNECTED"}}`, []string{"fin3", "eng2"}},
		{"Contains on a list: the list holds the value", `{"type":"Contains","name":"application_names","value":"Microsoft Excel"}`, []string{"app"}},
		{"Contains on a list is no part of a value", `{"type":"Contains","name":"application_names","value":"Excel"}`, []string{}},
		{"Contains on a list is exact about case", `{"type":"Contains","name":"application_names","value":"microsoft excel"}`, []string{}},
		{"Not Contains: also the sessions without the list", `{"type":"Not","filter":{"type":"Contains","name":"application_names","value":"Microsoft Excel"}}`, []string{"fin1", "fin2", "fin3", "eng1", "eng2"}},
		{"Equals a number", `{"type":"Equals","name":"start_time","value":1561930200000}`, []string{"eng1"}},
		{"Equals a user", `{"type":"Equals","name":"user_id","value":"S-1-5-21-1085031214-1563985344-725345543-1105"}`, []string{"fin2", "app"}},
		{"Equals an enum", `{"type":"Equals","name":"session_protocol","value":"RDP"}`, []string{"eng2"}},
		{"nothing matches", `{"type":"Equals","name":"id","value":"none"}`, []string{}},
		{"nested", `{"type":"And","filters":[{"type":"Not","filter":{"type":"Equals","name":"session_type","value":"APPLICATION"}},{"type":"Or","filters":[{"type":"Equals","name":"session_protocol","value":"PCOIP"},{"type":"Equals","name":"session_state","value":"PENDING"}]}]}`, []string{"fin2", "eng2"}},
		// Horizon 8.0.0's other fields.
		{"Equals true", `{"type":"Equals","name":"brokered_remotely","value":true}`, []string{"eng1"}},
		{"Equals false", `{"type":"Equals","name":"brokered_remotely","value":false}`, []string{"fin1", "fin2", "fin3", "eng2", "app"}},
		// Fields of objects that a session holds, named with a dot.
		{"Equals a client type", `{"type":"Equals","name":"client_data.type","value":"HTMLACCESS"}`, []string{"eng1"}},
		{"Equals a gateway location", `{"type":"Equals","name":"security_gateway_data.location","value":"EXTERNAL"}`, []string{"fin2", "eng1"}},
		{"connected from outside", `{"type":"And","filters":[{"type":"Equals","name":"session_state","value":"CONNECTED"},{"type":"Equals","name":"security_gateway_data.location","value":"EXTERNAL"},{"type":"Not","filter":{"type":"Equals","name":"client_data.type","value":"HTMLACCESS"}}]}`, []string{"fin2"}},
	})
}

// The rest of Horizon's filter language, on a spec whose x-filters let every
// field take every type that can apply to it: the server reads which types
// a field takes from the spec, and compares as the types say.
func TestListSessionsFiltersTheSpecAllows(t *testing.T) {
	t.Parallel()
	checkFilters(t, newEveryFilterServer(t, nil), []filterCase{
		{"NotEquals, also where the field is absent", `{"type":"NotEquals","name":"desktop_pool_id","value":"pool-finance"}`, []string{"eng1", "eng2", "app"}},
		{"Contains", `{"type":"Contains","name":"machine_id","value":"fin"}`, []string{"fin1", "fin2", "fin3"}},
		{"StartsWith", `{"type":"StartsWith","name":"machine_id","value":"machine-eng"}`, []string{"eng1", "eng2"}},
		{"EndsWith", `{"type":"EndsWith","name":"machine_id","value":"-001"}`, []string{"fin1", "eng1"}},
		{"string match is exact about case", `{"type":"Contains","name":"machine_id","value":"FIN"}`, []string{}},
		{"Between numbers, both ends included", `{"type":"Between","name":"start_time","fromValue":1561935600000,"toValue":1561937400000}`, []string{"fin1", "fin2", "app"}},
		{"Between strings", `{"type":"Between","name":"machine_id","fromValue":"machine-eng-002","toValue":"machine-fin-001"}`, []string{"fin1", "eng2"}},
		{"NotEquals false", `{"type":"NotEquals","name":"brokered_remotely","value":false}`, []string{"eng1"}},
		{"Between on idle minutes", `{"type":"Between","name":"idle_duration","fromValue":0,"toValue":6}`, []string{"fin1", "fin2", "app"}},
		{"Between on a duration", `{"type":"Between","name":"last_session_duration_ms","fromValue":1800000,"toValue":3000000}`, []string{"fin2", "eng1", "app"}},
		{"Between on disconnection", `{"type":"Between","name":"disconnected_time","fromValue":0,"toValue":9223372036854775807}`, []string{"fin3", "eng1"}},
		{"NotEquals, also where the object is absent", `{"type":"NotEquals","name":"security_gateway_data.location","value":"EXTERNAL"}`, []string{"fin1", "fin3", "eng2", "app"}},
		{"StartsWith on a client address", `{"type":"StartsWith","name":"client_data.address","value":"10.20."}`, []string{"fin1", "eng2", "app"}},
		{"Between on client versions", `{"type":"Between","name":"client_data.version","fromValue":"5.4.1","toValue":"5.5"}`, []string{"fin2"}},
		{"an Or of Equals on ids", `{"type":"Or","filters":[{"type":"Equals","name":"id","value":"` + demoIDs["fin2"] + `"},{"type":"Equals","name":"id","value":"` + demoIDs["app"] + `"}]}`, []string{"fin2", "app"}},
	})
}

// On that spec too, values must fit their field, at both ends of Between.
func TestListSessionsFilterValuesOnTheSpecAllows(t *testing.T) {
	t.Parallel()
	srv := newEveryFilterServer(t, nil)
	for _, tt := range []struct{ filter, want string }{
		{`{"type":"Between","name":"start_time","fromValue":1,"toValue":"z"}`, `/toValue: value must be an integer`},
		{`{"type":"Between","name":"last_session_duration_ms","fromValue":"1m","toValue":"2m"}`, `/fromValue: value must be an integer`},
		{`{"type":"Between","name":"security_gateway_data.location","fromValue":"EXTERNAL","toValue":"OUTSIDE"}`, `/toValue: value is not one of the allowed values`},
		{`{"type":"NotEquals","name":"brokered_remotely","value":0}`, `/value: value must be a boolean`},
		{`{"type":"Between","name":"unauthenticated","fromValue":false,"toValue":true}`, `/type: field "unauthenticated" takes Equals or NotEquals, not Between`},
		{`{"type":"StartsWith","name":"application_names","value":"Micro"}`, `/type: field "application_names" takes Contains, not StartsWith`},
	} {
		resp, _ := srv.listSessions(t, url.Values{"filter": {tt.filter}})
		wantError(t, resp, http.StatusBadRequest, `query parameter "filter": `+tt.want)
	}
}

// The server refuses to start on x-filters it cannot follow, and says where.
func TestFilterTypesMustFitTheirFields(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		field   string
		filters any
		want    string
	}{
		{"machine_id", []any{"Like"}, `field machine_id: x-filters names Like; the filter types that compare a field are Between, Contains, EndsWith, Equals, NotEquals, StartsWith`},
		{"machine_id", "Equals", `field machine_id: x-filters is not a list of filter types`},
		{"start_time", []any{"StartsWith"}, `field start_time: x-filters names StartsWith, which does not apply to a field of type`},
		{"brokered_remotely", []any{"Between"}, `field brokered_remotely: x-filters names Between, which does not apply`},
		{"application_names", []any{"Equals"}, `field application_names: x-filters names Equals, which does not apply`},
		{"session_state", []any{"Equals", "Equals"}, `field session_state: x-filters names Equals twice`},
	} {
		_, err := server.New(server.WithSpecChange(server.Config{Token: testToken}, func(doc *openapi3.T) {
			doc.Components.Schemas["SessionInfo"].Value.Properties[tt.field].Value.Extensions["x-filters"] = tt.filters
		}))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("x-filters %v on %s: New = %v, want an error that says %q", tt.filters, tt.field, err, tt.want)
		}
	}
}

type filterCase struct {
	name, filter string
	want         []string
}

// checkFilters lists the demo sessions that each filter selects on srv.
func checkFilters(t *testing.T, srv *testServer, tests []filterCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			query := url.Values{}
			if tt.filter != "" {
				query.Set("filter", tt.filter)
			}
			resp, got := srv.listSessions(t, query)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.status, resp.body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sessions (-want +got):\n%s", diff)
			}
			if resp.header.Get("HAS_MORE_RECORDS") != "" {
				t.Errorf("HAS_MORE_RECORDS without paging")
			}
		})
	}
}

// newEveryFilterServer serves sessions (nil: the demo's) on a spec whose
// x-filters give every field each filter type that can apply to it.
func newEveryFilterServer(t *testing.T, sessions []model.SessionInfo) *testServer {
	t.Helper()
	if sessions == nil {
		var err error
		if sessions, err = server.DemoSessions(); err != nil {
			t.Fatal(err)
		}
	}
	return newTestServer(t, server.WithSpecChange(server.Config{Store: server.NewMemoryStore(sessions)}, func(doc *openapi3.T) {
		allowEveryFilter(doc.Components.Schemas["SessionInfo"].Value.Properties)
	}))
}

// allowEveryFilter sets the x-filters of each field to every filter type
// that can apply to it.
func allowEveryFilter(properties openapi3.Schemas) {
	for _, ref := range properties {
		s := ref.Value
		var types []any
		switch {
		case s.Type.Is(openapi3.TypeObject):
			allowEveryFilter(s.Properties)
			continue
		case s.Type.Is(openapi3.TypeArray):
			types = []any{"Contains"}
		case s.Type.Is(openapi3.TypeString):
			types = []any{"Equals", "NotEquals", "Contains", "StartsWith", "EndsWith", "Between"}
		case s.Type.Is(openapi3.TypeBoolean):
			types = []any{"Equals", "NotEquals"}
		default:
			types = []any{"Equals", "NotEquals", "Between"}
		}
		s.Extensions = map[string]any{"x-filters": types}
	}
}

// The spec's SessionFilter refuses what is not a filter; the server refuses
// names and values that SessionInfo does not have. Both answers say where.
func TestListSessionsMalformedFilter(t *testing.T) {
	t.Parallel()
	srv := newDemoServer(t)
	const prefix = `query parameter "filter": `
	const types = "And, Between, Contains, EndsWith, Equals, Not, NotEquals, Or, StartsWith"
	const example = `{"filters":[{"name":"desktop_pool_id","type":"Equals","value":"pool-finance"},{"name":"session_state","type":"Equals","value":"CONNECTED"}],"type":"And"}`
	tests := []struct {
		name, filter, want string
	}{
		// Not JSON.
		{"not JSON", `{"type":`, "not valid JSON: unexpected EOF"},
		{"a plain string", `desktop_pool_id eq pool-finance`, "not valid JSON: invalid character 'd' looking for beginning of value"},
		{"two filters", `{"type":"Equals","name":"id","value":"a"} {}`, "not valid JSON: unexpected data after the JSON value at byte 42"},
		{"not UTF-8", "{\"type\":\"Equals\",\"name\":\"id\",\"value\":\"\xff\"}", "not valid UTF-8 at byte 38"},
		// The limits of the reference server.
		{"too long", `{"type":"Equals","name":"id","value":"` + strings.Repeat("a", sessions.MaxFilterBytes) + `"}`, fmt.Sprintf("%d bytes, over the limit of %d bytes of JSON", sessions.MaxFilterBytes+40, sessions.MaxFilterBytes)},
		{"too deep", strings.Repeat(`{"type":"Not","filter":`, sessions.MaxFilterDepth) + `{"type":"Equals","name":"id","value":"a"}` + strings.Repeat("}", sessions.MaxFilterDepth),
			strings.Repeat("/filter", sessions.MaxFilterDepth) + fmt.Sprintf(": filters nested deeper than the limit of %d", sessions.MaxFilterDepth)},
		{"too many terms", `{"type":"Or","filters":[` + strings.TrimSuffix(strings.Repeat(`{"type":"Equals","name":"id","value":"a"},`, sessions.MaxFilterTerms), ",") + `]}`,
			fmt.Sprintf("/filters/%d: more filters than the limit of %d", sessions.MaxFilterTerms-1, sessions.MaxFilterTerms)},
		// Not the spec's SessionFilter.
		// The spec's example shows what an object would look like.
		{"a JSON string", `"pool-finance"`, "want a JSON object such as " + example + ", not a string"},
		{"an array", `[{"type":"Equals","name":"id","value":"a"}]`, "want a JSON object such as " + example + ", not an array"},
		{"null", `null`, "want a JSON object such as " + example + ", not null"},
		{"no type", `{"name":"id","value":"a"}`, `/type: property "type" is missing or not a string; want one of ` + types},
		{"type not a string", `{"type":1,"name":"id","value":"a"}`, `/type: property "type" is missing or not a string`},
		{"unknown type", `{"type":"Like","name":"id","value":"a"}`, `/type: unknown type "Like"; want one of ` + types},
		{"type in lower case", `{"type":"equals","name":"id","value":"a"}`, `/type: unknown type "equals"`},
		{"unknown member", `{"type":"Equals","field":"id","value":"a"}`, `/field: property "field" is unsupported; the properties are "name", "type", "value"`},
		{"missing value", `{"type":"Equals","name":"id"}`, `/value: property "value" is missing`},
		{"null value", `{"type":"Equals","name":"id","value":null}`, `/value: Value is not nullable`},
		{"Contains a number", `{"type":"Contains","name":"machine_id","value":15}`, `/value: value must be a string`},
		{"Between without toValue", `{"type":"Between","name":"start_time","fromValue":1}`, `/toValue: property "toValue" is missing`},
		{"And without filters", `{"type":"And","filters":[]}`, `/filters: minimum number of items is 1`},
		{"Or with an object", `{"type":"Or","filters":{"type":"Equals","name":"id","value":"a"}}`, `/filters: value must be an array`},
		{"Not without filter", `{"type":"Not"}`, `/filter: property "filter" is missing`},
		{"nested, missing value", `{"type":"And","filters":[{"type":"Equals","name":"id","value":"a"},{"type":"Not","filter":{"type":"Equals","name":"id"}}]}`, `/filters/1/filter/value: property "value" is missing`},
		{"nested, unknown type", `{"type":"Or","filters":[{"type":"Like"}]}`, `/filters/0/type: unknown type "Like"`},
		{"nested, unknown member", `{"type":"Not","filter":{"type":"Between","name":"start_time","fromValue":1,"toValue":2,"to":3}}`, `/filter/to: property "to" is unsupported; the properties are "fromValue", "name", "toValue", "type"`},
		{"nested, not an object", `{"type":"And","filters":["x"]}`, `/filters/0: value must be an object`},
		// Not about SessionInfo's fields: the spec's SessionFieldName.
		{"unknown field", `{"type":"Equals","name":"pool","value":"a"}`, `/name: value is not one of the allowed values ["id","user_id",`},
		{"nested error", `{"type":"And","filters":[{"type":"Equals","name":"id","value":"a"},{"type":"Not","filter":{"type":"Equals","name":"pool","value":"b"}}]}`, `/filters/1/filter/name: value is not one of the allowed values`},
		{"an object", `{"type":"Equals","name":"client_data","value":"MAC"}`, `/name: value is not one of the allowed values`},
		{"unknown field of an object", `{"type":"Equals","name":"client_data.os","value":"macOS"}`, `/name: value is not one of the allowed values`},
		{"a dot after a string", `{"type":"Equals","name":"session_state.x","value":"a"}`, `/name: value is not one of the allowed values`},
		{"a dot at the end", `{"type":"Equals","name":"client_data.","value":"a"}`, `/name: value is not one of the allowed values`},
		// Values of no field's JSON type: the spec's SessionFilterValue.
		{"an object as a value", `{"type":"Equals","name":"id","value":{"id":"a"}}`, `/value: value must be a string, or value must be an integer, or value must be a boolean`},
		{"a fraction", `{"type":"Equals","name":"start_time","value":1.5}`, `/value: value must be a string, or value must be an integer, or value must be a boolean`},
		{"integer out of range", `{"type":"Equals","name":"start_time","value":99999999999999999999}`, `/value: value must be a string, or integer doesn't match the format "int64"`},
		{"number out of range", `{"type":"Equals","name":"start_time","value":1e400}`, `/value: number 1e400 is out of range`},
		{"number out of range, nested", `{"type":"Not","filter":{"type":"Between","name":"start_time","fromValue":0,"toValue":-1e400}}`, `/filter/toValue: number -1e400 is out of range`},
		// A type the field does not take: Horizon's own "Supported Filters".
		{"Contains on a number", `{"type":"Contains","name":"start_time","value":"15"}`, `/type: field "start_time" takes Equals, not Contains`},
		{"Contains on a string", `{"type":"Contains","name":"machine_id","value":"fin"}`, `/type: field "machine_id" takes Equals, not Contains`},
		{"StartsWith", `{"type":"StartsWith","name":"machine_id","value":"machine-eng"}`, `/type: field "machine_id" takes Equals, not StartsWith`},
		{"EndsWith", `{"type":"EndsWith","name":"client_data.address","value":".42"}`, `/type: field "client_data.address" takes Equals, not EndsWith`},
		{"Between", `{"type":"Between","name":"start_time","fromValue":1,"toValue":2}`, `/type: field "start_time" takes Equals, not Between`},
		{"Between on the state", `{"type":"Between","name":"session_state","fromValue":"CONNECTED","toValue":"PENDING"}`, `/type: field "session_state" takes Equals or NotEquals, not Between`},
		{"NotEquals on a pool", `{"type":"NotEquals","name":"desktop_pool_id","value":"pool-finance"}`, `/type: field "desktop_pool_id" takes Equals, not NotEquals`},
		{"Equals on a list", `{"type":"Equals","name":"application_names","value":"Microsoft Excel"}`, `/type: field "application_names" takes Contains, not Equals`},
		{"a nested pairing", `{"type":"Or","filters":[{"type":"Equals","name":"id","value":"a"},{"type":"Between","name":"idle_duration","fromValue":0,"toValue":5}]}`, `/filters/1/type: field "idle_duration" takes Equals, not Between`},
		// Values that the field's schema refuses.
		{"number field, string value", `{"type":"Equals","name":"start_time","value":"yesterday"}`, `/value: value must be an integer`},
		{"enum value in the wrong case", `{"type":"Equals","name":"session_state","value":"connected"}`, `/value: value is not one of the allowed values ["CONNECTED","DISCONNECTED","PENDING"]`},
		{"NotEquals, enum value in the wrong case", `{"type":"NotEquals","name":"session_state","value":"Pending"}`, `/value: value is not one of the allowed values ["CONNECTED","DISCONNECTED","PENDING"]`},
		{"a boolean as a string", `{"type":"Equals","name":"unauthenticated","value":"false"}`, `/value: value must be a boolean`},
		{"a boolean as a number", `{"type":"Equals","name":"brokered_remotely","value":0}`, `/value: value must be a boolean`},
		{"nested enum in the wrong case", `{"type":"Equals","name":"client_data.type","value":"HtmlAccess"}`, `/value: value is not one of the allowed values ["WINDOWS","MAC","HTMLACCESS","LINUX","IOS","ANDROID","OTHER"]`},
		// Such a number once cost milliseconds per record and node to compare.
		{"tiny exponent on an integer field", `{"type":"Equals","name":"start_time","value":1e-999999}`, `/value: field takes integers`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, _ := srv.listSessions(t, url.Values{"filter": {tt.filter}})
			wantError(t, resp, http.StatusBadRequest, prefix+tt.want)
		})
	}
}

// A filter given twice is refused: which one would be meant?
func TestListSessionsFilterTwice(t *testing.T) {
	t.Parallel()
	srv := newDemoServer(t)
	one := `{"type":"Equals","name":"id","value":"a"}`
	resp, _ := srv.listSessions(t, url.Values{"filter": {one, one}})
	wantError(t, resp, http.StatusBadRequest, `query parameter "filter": given 2 times; give it once`)
}

// The server serves every filter type that the spec's SessionFilter declares,
// and no other.
func TestListSessionsServesEveryFilterTypeOfTheSpec(t *testing.T) {
	t.Parallel()
	srv := newEveryFilterServer(t, nil)
	examples := map[string]string{
		"Equals":     `{"type":"Equals","name":"session_state","value":"CONNECTED"}`,
		"NotEquals":  `{"type":"NotEquals","name":"session_state","value":"CONNECTED"}`,
		"Contains":   `{"type":"Contains","name":"machine_id","value":"fin"}`,
		"StartsWith": `{"type":"StartsWith","name":"machine_id","value":"machine"}`,
		"EndsWith":   `{"type":"EndsWith","name":"machine_id","value":"1"}`,
		"Between":    `{"type":"Between","name":"start_time","fromValue":0,"toValue":1}`,
		"And":        `{"type":"And","filters":[{"type":"Equals","name":"id","value":"a"}]}`,
		"Or":         `{"type":"Or","filters":[{"type":"Equals","name":"id","value":"a"}]}`,
		"Not":        `{"type":"Not","filter":{"type":"Equals","name":"id","value":"a"}}`,
	}
	filter := spectest.Load(t).Doc().Components.Schemas["SessionFilter"]
	if filter == nil || filter.Value.Discriminator == nil {
		t.Fatal("the spec has no SessionFilter with a discriminator")
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(examples)), slices.Sorted(maps.Keys(filter.Value.Discriminator.Mapping))); diff != "" {
		t.Fatalf("filter types here (-) and in the spec (+):\n%s", diff)
	}
	for kind, example := range examples {
		if resp, _ := srv.listSessions(t, url.Values{"filter": {example}}); resp.status != http.StatusOK {
			t.Errorf("%s: status %d, body %s", kind, resp.status, resp.body)
		}
	}
}

// Integers compare exactly, also past 2^53, where float64 would take
// 2^53+1 for 2^53.
func TestListSessionsFilterNumbersAreExact(t *testing.T) {
	t.Parallel()
	ts := newEveryFilterServer(t, []model.SessionInfo{
		{ID: "even", SessionState: model.SessionInfoSessionStateCONNECTED, StartTime: ptr(int64(1 << 53))},
		{ID: "odd", SessionState: model.SessionInfoSessionStateCONNECTED, StartTime: ptr(int64(1<<53 + 1))},
	})
	for _, filter := range []string{
		`{"type":"Equals","name":"start_time","value":9007199254740993}`,
		`{"type":"Between","name":"start_time","fromValue":9007199254740993,"toValue":9007199254740993}`,
		`{"type":"Not","filter":{"type":"NotEquals","name":"start_time","value":9007199254740993}}`,
	} {
		resp := ts.do(t, ts.request(t, http.MethodGet, sessionsPath+"?"+url.Values{"filter": {filter}}.Encode(), "Bearer "+testToken, ""))
		if resp.status != http.StatusOK {
			t.Fatalf("%s: status %d, body %s", filter, resp.status, resp.body)
		}
		var ids []string
		for _, s := range decodeStrict[[]model.SessionInfo](t, resp.body) {
			ids = append(ids, s.ID)
		}
		if diff := cmp.Diff([]string{"odd"}, ids); diff != "" {
			t.Errorf("%s: sessions (-want +got):\n%s", filter, diff)
		}
	}
}

func TestListSessionsPaging(t *testing.T) {
	t.Parallel()
	srv := newDemoServer(t)
	const finance = `{"type":"Equals","name":"desktop_pool_id","value":"pool-finance"}`
	tests := []struct {
		name, page, size, filter string
		want                     []string
		more                     bool
	}{
		{"first page", "1", "4", "", []string{"fin1", "fin2", "fin3", "eng1"}, true},
		{"last page", "2", "4", "", []string{"eng2", "app"}, false},
		{"past the end", "3", "4", "", []string{}, false},
		{"one page holds all", "1", "6", "", demoOrder, false},
		{"page of one", "5", "1", "", []string{"eng2"}, true},
		{"largest size", "1", "1000", "", demoOrder, false},
		{"largest page", "2147483647", "1000", "", []string{}, false},
		{"filtered, first page", "1", "2", finance, []string{"fin1", "fin2"}, true},
		{"filtered, last page", "2", "2", finance, []string{"fin3"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			query := url.Values{"page": {tt.page}, "size": {tt.size}}
			if tt.filter != "" {
				query.Set("filter", tt.filter)
			}
			resp, got := srv.listSessions(t, query)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.status, resp.body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sessions (-want +got):\n%s", diff)
			}
			wantHeader := map[bool]string{true: "TRUE", false: ""}[tt.more]
			if got := resp.header.Get("HAS_MORE_RECORDS"); got != wantHeader {
				t.Errorf("HAS_MORE_RECORDS = %q, want %q", got, wantHeader)
			}
		})
	}
}

func TestListSessionsPagingRefused(t *testing.T) {
	t.Parallel()
	srv := newDemoServer(t)
	tests := []struct {
		name  string
		query url.Values
		want  string
	}{
		{"page without size", url.Values{"page": {"1"}}, `query parameter "page" requires "size": give both or neither`},
		{"size without page", url.Values{"size": {"10"}}, `query parameter "size" requires "page": give both or neither`},
		{"size 0", url.Values{"page": {"1"}, "size": {"0"}}, `query parameter "size": number must be at least 1`},
		{"size over 1000", url.Values{"page": {"1"}, "size": {"1001"}}, `query parameter "size": number must be at most 1000`},
		{"page 0", url.Values{"page": {"0"}, "size": {"10"}}, `query parameter "page": number must be at least 1`},
		{"page negative", url.Values{"page": {"-1"}, "size": {"10"}}, `query parameter "page": number must be at least 1`},
		{"page not a number", url.Values{"page": {"first"}, "size": {"10"}}, `query parameter "page"`},
		{"empty filter", url.Values{"filter": {""}}, `query parameter "filter"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, _ := srv.listSessions(t, tt.query)
			wantError(t, resp, http.StatusBadRequest, tt.want)
		})
	}
}

// Which query parameter needs which is the spec's to say (x-requires): the
// server reads it, and refuses a spec whose x-requires it cannot follow.
func TestQueryRequirementsAreTheSpecs(t *testing.T) {
	t.Parallel()
	withRequires := func(param string, requires any) func(*openapi3.T) {
		return func(doc *openapi3.T) {
			for _, p := range doc.Paths.Find("/inventory/v1/sessions").Get.Parameters {
				if p.Value.Name == param {
					p.Value.Extensions = map[string]any{"x-requires": requires}
				}
			}
		}
	}
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, server.WithSpecChange(server.Config{Store: server.NewMemoryStore(sessions)}, withRequires("filter", []any{"page", "size"})))
	resp, _ := srv.listSessions(t, url.Values{"filter": {`{"type":"Equals","name":"session_state","value":"CONNECTED"}`}})
	wantError(t, resp, http.StatusBadRequest, `query parameter "filter" requires "page"`)
	if resp, _ := srv.listSessions(t, url.Values{"filter": {`{"type":"Equals","name":"session_state","value":"CONNECTED"}`}, "page": {"1"}, "size": {"2"}}); resp.status != http.StatusOK {
		t.Errorf("filter with page and size: %d %s", resp.status, resp.body)
	}

	for _, bad := range []any{[]any{"sort"}, []any{"page", 3}, "size", []any{}, []any{"filter"}} {
		if _, err := server.New(server.WithSpecChange(server.Config{Token: testToken}, withRequires("filter", bad))); err == nil || !strings.Contains(err.Error(), "x-requires") {
			t.Errorf("x-requires %v: New = %v, want an error about x-requires", bad, err)
		}
	}
}

// Horizon sends HAS_MORE_RECORDS in capitals, and scripts grep for it so.
// Go's own header handling would send Has_more_records.
func TestHasMoreRecordsKeepsHorizonsCase(t *testing.T) {
	t.Parallel()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Token: testToken, Store: server.NewMemoryStore(sessions)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, sessionsPath+"?page=1&size=1", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	checkResponse(t, req, rec.Code, rec.Result().Header, rec.Body.Bytes())
	//nolint:staticcheck // SA1008: the header's exact case is what is tested
	if got := rec.Header()["HAS_MORE_RECORDS"]; len(got) != 1 || got[0] != "TRUE" {
		t.Errorf("header map = %v, want HAS_MORE_RECORDS: TRUE written as is", rec.Header())
	}
}

func TestGetSession(t *testing.T) {
	t.Parallel()
	srv := newDemoServer(t)
	demo, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range demo {
		resp := srv.do(t, srv.request(t, http.MethodGet, sessionsPath+"/"+want.ID, "Bearer "+testToken, ""))
		if resp.status != http.StatusOK {
			t.Fatalf("%s: status %d, body %s", want.ID, resp.status, resp.body)
		}
		if diff := cmp.Diff(want, decodeStrict[model.SessionInfo](t, resp.body)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", want.ID, diff)
		}
	}
	for _, id := range []string{idUnknown, "action", url.PathEscape("a b")} {
		resp := srv.do(t, srv.request(t, http.MethodGet, sessionsPath+"/"+id, "Bearer "+testToken, ""))
		e := wantError(t, resp, http.StatusNotFound, "does not exist")
		if e.Errors[0].ErrorKey != "not.found" {
			t.Errorf("%s: error_key %q", id, e.Errors[0].ErrorKey)
		}
		if unescaped, _ := url.PathUnescape(id); !strings.Contains(e.ErrorMessage, unescaped) {
			t.Errorf("%s: the reason %q does not name the id", id, e.ErrorMessage)
		}
	}
}
