package server_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

const seedSessionID = "7cdd624f-37d1-46c1-ab96-695a5d13956f"

func TestDemoSessions(t *testing.T) {
	t.Parallel()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatalf("DemoSessions: %v", err)
	}
	states := map[model.SessionInfoSessionState]int{}
	seen := map[string]bool{}
	var seed *model.SessionInfo
	for i, s := range sessions {
		if seen[s.ID] {
			t.Errorf("demo id %q appears twice", s.ID)
		}
		seen[s.ID] = true
		states[s.SessionState]++
		if s.ID == seedSessionID {
			seed = &sessions[i]
		}
	}
	if seed == nil {
		t.Fatalf("demo data lacks the seed session %s", seedSessionID)
	}
	if seed.SessionState != model.SessionInfoSessionStateCONNECTED {
		t.Errorf("seed session state = %s, want CONNECTED", seed.SessionState)
	}
	if seed.UserID == nil || *seed.UserID == "" {
		t.Error("seed session has no user_id")
	}
	// The demo is meant to show every outcome a send can have.
	for _, state := range []model.SessionInfoSessionState{
		model.SessionInfoSessionStateCONNECTED,
		model.SessionInfoSessionStateDISCONNECTED,
		model.SessionInfoSessionStatePENDING,
	} {
		if states[state] == 0 {
			t.Errorf("demo data has no %s session", state)
		}
	}
}

func TestDemoSessionsAreFreshCopies(t *testing.T) {
	t.Parallel()
	a, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	a[0].ID = "changed"
	b, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	if b[0].ID == "changed" {
		t.Error("DemoSessions shares its result between calls")
	}
}

func TestLoadDataValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want []model.SessionInfo
	}{
		{"no sessions", `{"sessions": []}`, []model.SessionInfo{}},
		{"trailing whitespace", "{\"sessions\": []}\n\n", []model.SessionInfo{}},
		{
			"every field",
			`{"sessions": [{
				"id": "a", "user_id": "u", "broker_user_id": "bu", "access_group_id": "ag",
				"desktop_pool_id": "dp", "farm_id": "f", "rds_server_id": "r", "machine_id": "m",
				"session_type": "APPLICATION", "session_state": "PENDING", "session_protocol": "RDP",
				"start_time": 1561935600000, "disconnected_time": 1561938000000, "agent_version": "8.0.0",
				"idle_duration": 12, "last_session_duration_ms": 116320,
				"brokered_remotely": true, "resourced_remotely": false, "unauthenticated": true,
				"application_names": ["Calculator", "Paint"],
				"client_data": {"address": "192.0.2.1", "location_id": "loc", "name": "c1", "type": "IOS", "version": "5.4.0"},
				"security_gateway_data": {"address": "198.51.100.1", "domain_name": "gw.example", "location": "UNKNOWN"}
			}]}`,
			[]model.SessionInfo{{
				ID: "a", UserID: ptr("u"), BrokerUserID: ptr("bu"), AccessGroupID: ptr("ag"),
				DesktopPoolID: ptr("dp"), FarmID: ptr("f"), RDSServerID: ptr("r"), MachineID: ptr("m"),
				SessionType:     ptr(model.SessionInfoSessionTypeAPPLICATION),
				SessionState:    model.SessionInfoSessionStatePENDING,
				SessionProtocol: ptr(model.SessionInfoSessionProtocolRDP),
				StartTime:       ptr(int64(1561935600000)), DisconnectedTime: ptr(int64(1561938000000)),
				AgentVersion: ptr("8.0.0"),
				IdleDuration: ptr(int64(12)), LastSessionDurationMs: ptr(int64(116320)),
				BrokeredRemotely: ptr(true), ResourcedRemotely: ptr(false), Unauthenticated: ptr(true),
				ApplicationNames: ptr([]string{"Calculator", "Paint"}),
				ClientData: &model.ClientData{
					Address: ptr("192.0.2.1"), LocationID: ptr("loc"), Name: ptr("c1"),
					Type: ptr(model.ClientDataTypeIOS), Version: ptr("5.4.0"),
				},
				SecurityGatewayData: &model.SecurityGatewayData{
					Address: ptr("198.51.100.1"), DomainName: ptr("gw.example"),
					Location: ptr(model.SecurityGatewayDataLocationUNKNOWN),
				},
			}},
		},
		{
			// Given is not the same as absent: false, 0, "", [] and {} stay.
			"zero values",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED", "user_id": "", "idle_duration": 0,
				"unauthenticated": false, "application_names": [], "client_data": {}}]}`,
			[]model.SessionInfo{{
				ID: "a", SessionState: model.SessionInfoSessionStateCONNECTED, UserID: ptr(""),
				IdleDuration: ptr(int64(0)), Unauthenticated: ptr(false), ApplicationNames: ptr([]string{}),
				ClientData: &model.ClientData{},
			}},
		},
		{
			// 2^53+1 is not a float64; it must arrive exactly.
			"int64 beyond float64 precision",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED", "start_time": 9007199254740993}]}`,
			[]model.SessionInfo{{ID: "a", SessionState: model.SessionInfoSessionStateCONNECTED, StartTime: ptr(int64(9007199254740993))}},
		},
		{
			"order kept",
			`{"sessions": [{"id": "b", "session_state": "DISCONNECTED"}, {"id": "a", "session_state": "CONNECTED"}]}`,
			[]model.SessionInfo{
				{ID: "b", SessionState: model.SessionInfoSessionStateDISCONNECTED},
				{ID: "a", SessionState: model.SessionInfoSessionStateCONNECTED},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := server.LoadData("sessions.json", []byte(tt.data))
			if err != nil {
				t.Fatalf("LoadData: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Sessions); diff != "" {
				t.Errorf("LoadData sessions (-want +got):\n%s", diff)
			}
			if got.Users != nil {
				t.Errorf("LoadData users = %+v, want none", *got.Users)
			}
		})
	}
}

func TestLoadDataUsers(t *testing.T) {
	t.Parallel()
	got, err := server.LoadData("users.json", []byte(`{
		"users": [{"username": "admin", "domain": "LAB", "password": "p1"}, {"username": "ops", "domain": "LAB", "password": "p2"}],
		"sessions": []
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []model.ReferenceUser{{Username: "admin", Domain: "LAB", Password: "p1"}, {Username: "ops", Domain: "LAB", Password: "p2"}}
	if got.Users == nil {
		t.Fatal("no users")
	}
	if diff := cmp.Diff(want, *got.Users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
}

func TestLoadDataMalformed(t *testing.T) {
	t.Parallel()
	const name = "testdata/broken-inventory.json"
	tests := []struct {
		name string
		data string
		// want are fragments the error must contain, besides the file name.
		want []string
	}{
		{"not JSON", `sessions: []`, []string{"not valid JSON"}},
		{"empty file", ``, []string{"not valid JSON"}},
		{"trailing second value", `{"sessions": []} {"sessions": []}`, []string{"not valid JSON", "follows the document"}},
		{"trailing bracket", `{"sessions": []}}`, []string{"not valid JSON"}},
		{"top level is an array", `[]`, []string{"must be an object"}},
		{"missing sessions", `{}`, []string{"/sessions", `"sessions" is missing`}},
		{"sessions null", `{"sessions": null}`, []string{"/sessions", "not nullable"}},
		{"unknown top-level key", `{"sessions": [], "session": []}`, []string{`/session: property "session" is unsupported`}},
		{"session without id", `{"sessions": [{"session_state": "CONNECTED"}]}`, []string{"/sessions/0/id", `"id" is missing`}},
		{"empty id", `{"sessions": [{"id": "", "session_state": "CONNECTED"}]}`, []string{"/sessions/0/id", "minimum string length is 1"}},
		{
			"lowercase session_state",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED"}, {"id": "b", "session_state": "connected"}]}`,
			[]string{"/sessions/1/session_state", "not one of the allowed values"},
		},
		{"session without state", `{"sessions": [{"id": "a"}]}`, []string{"/sessions/0/session_state", "missing"}},
		{"start_time a string", `{"sessions": [{"id": "a", "session_state": "CONNECTED", "start_time": "x"}]}`, []string{"/sessions/0/start_time", "must be an integer"}},
		{"start_time a fraction", `{"sessions": [{"id": "a", "session_state": "CONNECTED", "start_time": 1.5}]}`, []string{"/sessions/0/start_time", "must be an integer"}},
		{"user without password", `{"users": [{"username": "a", "domain": "D"}], "sessions": []}`, []string{"/users/0", `"password" is missing`}},
		{"UPN user name", `{"users": [{"username": "a@d.example", "domain": "D", "password": "p4ss-secret"}], "sessions": []}`, []string{"/users/0/username", "UPN-style user names"}},
		{"unknown user key", `{"users": [{"username": "a", "domain": "D", "password": "p4ss-secret", "role": "admin"}], "sessions": []}`, []string{"/users/0/role: ", `"role"`}},
		// A field the spec does not know, at any depth, is named with its
		// pointer, and the fields that the place has are listed.
		{
			"unknown session field",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED", "user_name": "jdoe"}]}`,
			[]string{`/sessions/0/user_name: property "user_name" is unsupported; the properties are "access_group_id", "agent_version", "application_names"`},
		},
		{
			"unknown client_data field",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED"}, {"id": "b", "session_state": "CONNECTED", "client_data": {"type": "MAC", "os": "macOS"}}]}`,
			[]string{`/sessions/1/client_data/os: property "os" is unsupported; the properties are "address", "location_id", "name", "type", "version"`},
		},
		{
			"unknown security_gateway_data field",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED", "security_gateway_data": {"location": "EXTERNAL", "port": 443}}]}`,
			[]string{`/sessions/0/security_gateway_data/port: property "port" is unsupported; the properties are "address", "domain_name", "location"`},
		},
		{
			"a field of client_data one level up",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED", "client_type": "MAC"}]}`,
			[]string{`/sessions/0/client_type: property "client_type" is unsupported`},
		},
		{
			"a name that must be escaped in a pointer",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED", "client_data": {"a/b~c": 1}}]}`,
			[]string{`/sessions/0/client_data/a~1b~0c: property "a/b~c" is unsupported`},
		},
		{"client_data not an object", `{"sessions": [{"id": "a", "session_state": "CONNECTED", "client_data": "MAC"}]}`, []string{"/sessions/0/client_data", "must be an object"}},
		{"client type unknown", `{"sessions": [{"id": "a", "session_state": "CONNECTED", "client_data": {"type": "CHROMEOS"}}]}`, []string{"/sessions/0/client_data/type", "not one of the allowed values"}},
		{"application_names a string", `{"sessions": [{"id": "a", "session_state": "CONNECTED", "application_names": "Excel"}]}`, []string{"/sessions/0/application_names", "must be an array"}},
		{"a boolean as a string", `{"sessions": [{"id": "a", "session_state": "CONNECTED", "unauthenticated": "false"}]}`, []string{"/sessions/0/unauthenticated", "must be a boolean"}},
		{"idle_duration a fraction", `{"sessions": [{"id": "a", "session_state": "CONNECTED", "idle_duration": 1.5}]}`, []string{"/sessions/0/idle_duration", "must be an integer"}},
		// A fault rule's own cross-field rules hold in a data file too,
		// where every object is closed to unknown fields (the schemas a
		// `not` refuses are not).
		{
			"a fault rule with username on logout",
			`{"sessions": [], "faults": [{"operation": "login", "action": "close_before_acting", "username": "a"}, {"operation": "logout", "action": "close_before_acting", "username": "a"}]}`,
			[]string{"/faults/1/username: goes with operation login only"},
		},
		{
			"a fault rule with session_ids on login",
			`{"sessions": [], "faults": [{"operation": "login", "action": "delay", "delay_ms": 1, "session_ids": ["a"]}]}`,
			[]string{"/faults/0/session_ids: goes with operations getSession and sendMessageToSessions only"},
		},
		{
			"a fault rule with Retry-After on 500",
			`{"sessions": [], "faults": [{"operation": "login", "action": "respond", "status": 500, "retry_after_seconds": 1}]}`,
			[]string{"/faults/0/retry_after_seconds: goes with status 429 or 503 only"},
		},
		{
			"a fault rule with a field of another action",
			`{"sessions": [], "faults": [{"operation": "login", "action": "close_after_acting", "status": 503}]}`,
			[]string{`/faults/0/status: property "status" is unsupported`, "it goes with action respond"},
		},
		{
			"same user twice, in another case",
			`{"users": [{"username": "a", "domain": "D", "password": "p4ss-secret"}, {"username": "A", "domain": "d", "password": "p4ss-secret"}], "sessions": []}`,
			[]string{"/users/1", "/users/0"},
		},
		{
			"duplicate ids",
			`{"sessions": [{"id": "a", "session_state": "CONNECTED"}, {"id": "b", "session_state": "CONNECTED"}, {"id": "a", "session_state": "PENDING"}]}`,
			[]string{"/sessions/2/id", `"a"`, "/sessions/0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := server.LoadData(name, []byte(tt.data))
			if err == nil {
				t.Fatalf("LoadData accepted %s, returning %+v", tt.data, got)
			}
			msg := err.Error()
			for _, want := range append([]string{name}, tt.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
			if strings.Contains(msg, "p4ss-secret") {
				t.Errorf("error shows a password: %q", msg)
			}
		})
	}
}
