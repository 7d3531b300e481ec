package sendmessage_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

func withSessions(sessions []model.SessionInfo) serverOption {
	return func(c *server.Config) { c.Store = server.NewMemoryStore(sessions) }
}

// A data file round-trips: every field it gives a session comes back from
// GET, equal, from the list and from the session's own address. One session
// has every field the spec's SessionInfo declares, at any depth, made from the
// spec, so that a field the spec gains is covered at once; another only the
// required ones and values that are easily dropped: false, 0, "", [] and {}.
func TestDataFileRoundTrips(t *testing.T) {
	t.Parallel()
	schema := spectest.Load(t).Doc().Components.Schemas["SessionInfo"].Value
	g := &specValues{}
	full, ok := g.value(t, schema, "SessionInfo").(map[string]any)
	if !ok {
		t.Fatal("SessionInfo is not an object")
	}
	full["id"] = "every-field"
	sparse := map[string]any{
		"id": "zero-values", "session_state": "PENDING",
		"user_id": "", "idle_duration": 0, "unauthenticated": false,
		"application_names": []any{}, "client_data": map[string]any{}, "security_gateway_data": map[string]any{"address": ""},
	}
	file := mustMarshal(t, map[string]any{"sessions": []any{full, sparse}})
	data, err := server.LoadData("round-trip.json", []byte(file))
	if err != nil {
		t.Fatalf("LoadData: %v", err)
	}
	ts := startServer(t, withSessions(data.Sessions))

	var want []any // the file's sessions, as JSON
	decodeExact(t, []byte(file), &struct{ Sessions *[]any }{&want})
	resp, body := ts.do(t, http.MethodGet, sessionsURL, "", "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	var listed []any
	decodeExact(t, body, &listed)
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("listed sessions differ from the data file (-file +answer):\n%s", diff)
	}
	for i, id := range []string{"every-field", "zero-values"} {
		resp, body := ts.do(t, http.MethodGet, sessionsURL+"/"+id, "", "Authorization", "Bearer "+testToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("get %s: %d %s", id, resp.StatusCode, body)
		}
		var got any
		decodeExact(t, body, &got)
		if diff := cmp.Diff(want[i], got); diff != "" {
			t.Errorf("session %s differs from the data file (-file +answer):\n%s", id, diff)
		}
	}
	// The generator reached every field, nested ones included.
	for _, field := range []string{"client_data", "security_gateway_data", "application_names", "unauthenticated"} {
		if _, ok := full[field]; !ok {
			t.Errorf("the session with every field lacks %q", field)
		}
	}
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

// specValues makes a value for a schema: every property of an object, a
// value of each enum, integers past what a float64 holds exactly, each string
// its own.
type specValues struct{ n int }

func (g *specValues) value(t *testing.T, s *openapi3.Schema, at string) any {
	t.Helper()
	g.n++
	switch {
	case len(s.Enum) > 0:
		return s.Enum[g.n%len(s.Enum)]
	case s.Type.Is(openapi3.TypeString):
		return fmt.Sprintf("value-%d", g.n)
	case s.Type.Is(openapi3.TypeInteger):
		return json.Number(fmt.Sprint(int64(1)<<53 + int64(g.n)))
	case s.Type.Is(openapi3.TypeBoolean):
		return g.n%2 == 0
	case s.Type.Is(openapi3.TypeArray):
		return []any{g.value(t, s.Items.Value, at+"[]"), g.value(t, s.Items.Value, at+"[]")}
	case s.Type.Is(openapi3.TypeObject):
		object := map[string]any{}
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			object[name] = g.value(t, s.Properties[name].Value, at+"."+name)
		}
		return object
	}
	t.Fatalf("%s: no value for a schema of type %v; teach specValues", at, s.Type)
	return nil
}
