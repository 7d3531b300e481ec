package api_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/api"
)

// Horizon 8.0.0's SessionInfo, ClientData and SecurityGatewayData, as its API
// reference declares them: each field's type, with its format or enum.
var horizon800 = map[string]map[string]string{
	"SessionInfo": {
		"id": "string", "user_id": "string", "broker_user_id": "string", "access_group_id": "string",
		"desktop_pool_id": "string", "farm_id": "string", "rds_server_id": "string", "machine_id": "string",
		"agent_version":    "string",
		"session_type":     "string [DESKTOP APPLICATION]",
		"session_state":    "string [CONNECTED DISCONNECTED PENDING]",
		"session_protocol": "string [PCOIP RDP BLAST CONSOLE UNKNOWN]",
		"start_time":       "integer int64", "disconnected_time": "integer int64",
		"idle_duration": "integer int64", "last_session_duration_ms": "integer int64",
		"brokered_remotely": "boolean", "resourced_remotely": "boolean", "unauthenticated": "boolean",
		"application_names":     "array of string",
		"client_data":           "object ClientData",
		"security_gateway_data": "object SecurityGatewayData",
	},
	"ClientData": {
		"address": "string", "location_id": "string", "name": "string", "version": "string",
		"type": "string [WINDOWS MAC HTMLACCESS LINUX IOS ANDROID OTHER]",
	},
	"SecurityGatewayData": {
		"address": "string", "domain_name": "string",
		"location": "string [EXTERNAL INTERNAL UNKNOWN]",
	},
}

// The spec's session schemas have exactly Horizon 8.0.0's fields and types.
// Of the fields, only id and session_state are required, which the reference
// server always has; the nested objects require nothing, as in Horizon.
func TestSessionSchemasAreHorizon800s(t *testing.T) {
	t.Parallel()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(horizon800["SessionInfo"]); n != 22 {
		t.Fatalf("the table has %d SessionInfo fields, Horizon 8.0.0 has 22", n)
	}
	for name, want := range horizon800 {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Errorf("spec has no schema %s", name)
			continue
		}
		got := map[string]string{}
		for field, prop := range ref.Value.Properties {
			got[field] = describe(prop)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-Horizon 8.0.0 +spec):\n%s", name, diff)
		}
		wantRequired := []string{}
		if name == "SessionInfo" {
			wantRequired = []string{"id", "session_state"}
		}
		if got := slices.Sorted(slices.Values(ref.Value.Required)); !slices.Equal(wantRequired, got) {
			t.Errorf("%s requires %v, want %v", name, got, wantRequired)
		}
		// Answers may carry fields that a later Horizon adds.
		if has := ref.Value.AdditionalProperties.Has; has != nil && !*has {
			t.Errorf("%s says additionalProperties: false; answers must stay open to fields Horizon adds", name)
		}
	}
}

func describe(ref *openapi3.SchemaRef) string {
	s := ref.Value
	switch {
	case ref.Ref != "":
		return "object " + ref.Ref[len("#/components/schemas/"):]
	case s.Type.Is(openapi3.TypeArray):
		return "array of " + describe(s.Items)
	case len(s.Enum) > 0:
		return fmt.Sprintf("%s %v", s.Type.Slice()[0], s.Enum)
	case s.Format != "":
		return s.Type.Slice()[0] + " " + s.Format
	}
	return s.Type.Slice()[0]
}
