package sendmessage_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
)

const sessionsURL = "/rest/inventory/v1/sessions"

func TestListSessionsContract(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const pool = `{"type":"Equals","name":"desktop_pool_id","value":"pool-finance"}`
	tests := []struct {
		name          string
		query         url.Values
		wantStatus    int
		wantIDs       []string
		wantMore      bool
		wantInMessage string
	}{
		{"every session", nil, 200, []string{seedSessionID, connectedFinance, disconnected, "4d3c2b1a-6f5e-4d7c-9b8a-0f1e2d3c4b5a", pending, "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}, false, ""},
		{"one pool", url.Values{"filter": {pool}}, 200, []string{seedSessionID, connectedFinance, disconnected}, false, ""},
		{"one pool, first page", url.Values{"filter": {pool}, "page": {"1"}, "size": {"2"}}, 200, []string{seedSessionID, connectedFinance}, true, ""},
		{"one pool, second page", url.Values{"filter": {pool}, "page": {"2"}, "size": {"2"}}, 200, []string{disconnected}, false, ""},
		{"page only", url.Values{"page": {"1"}}, 400, nil, false, `query parameter "page" requires "size"`},
		{"size too large", url.Values{"page": {"1"}, "size": {"1001"}}, 400, nil, false, `query parameter "size": number must be at most 1000`},
		{"filter as a plain string", url.Values{"filter": {"desktop_pool_id=pool-finance"}}, 400, nil, false, `query parameter "filter": not valid JSON`},
		{"unknown field", url.Values{"filter": {`{"type":"Equals","name":"pool","value":"x"}`}}, 400, nil, false, `/name: value is not one of the allowed values ["id",`},
		{"a client type", url.Values{"filter": {`{"type":"Equals","name":"client_data.type","value":"HTMLACCESS"}`}}, 200, []string{"4d3c2b1a-6f5e-4d7c-9b8a-0f1e2d3c4b5a"}, false, ""},
		{"a boolean", url.Values{"filter": {`{"type":"Equals","name":"brokered_remotely","value":true}`}}, 200, []string{"4d3c2b1a-6f5e-4d7c-9b8a-0f1e2d3c4b5a"}, false, ""},
		{"a boolean as text", url.Values{"filter": {`{"type":"Equals","name":"brokered_remotely","value":"true"}`}}, 400, nil, false, `/value: value must be a boolean`},
		{"idle minutes", url.Values{"filter": {`{"type":"Equals","name":"idle_duration","value":24}`}}, 200, []string{disconnected}, false, ""},
		{"an object", url.Values{"filter": {`{"type":"Equals","name":"client_data","value":"MAC"}`}}, 400, nil, false, `/name: value is not one of the allowed values`},
		{"Equals on a list", url.Values{"filter": {`{"type":"Equals","name":"application_names","value":"Microsoft Excel"}`}}, 400, nil, false, `/type: field "application_names" takes Contains, not Equals`},
		{"Contains on a list: the list holds it", url.Values{"filter": {`{"type":"Contains","name":"application_names","value":"Microsoft Excel"}`}}, 200, []string{"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}, false, ""},
		{"a type the field does not take", url.Values{"filter": {`{"type":"StartsWith","name":"machine_id","value":"machine-"}`}}, 400, nil, false, `/type: field "machine_id" takes Equals, not StartsWith`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := sessionsURL
			if tt.query != nil {
				target += "?" + tt.query.Encode()
			}
			resp, body := ts.do(t, http.MethodGet, target, "", "Authorization", "Bearer "+testToken)
			if tt.wantStatus != http.StatusOK {
				assertError(t, resp, body, tt.wantStatus, tt.wantInMessage)
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var sessions []model.SessionInfo
			mustUnmarshal(t, body, &sessions)
			ids := []string{}
			for _, s := range sessions {
				ids = append(ids, s.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if more := resp.Header.Get("HAS_MORE_RECORDS") == "TRUE"; more != tt.wantMore {
				t.Errorf("HAS_MORE_RECORDS = %q, want more: %v", resp.Header.Get("HAS_MORE_RECORDS"), tt.wantMore)
			}
		})
	}
}

func TestGetSessionContract(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tests := []struct {
		name, id, token string
		wantStatus      int
		wantInMessage   string
	}{
		{"the seed's session", seedSessionID, testToken, 200, ""},
		{"unknown", unknown, testToken, 404, "does not exist"},
		{"no token", seedSessionID, "", 401, "missing bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var auth []string
			if tt.token != "" {
				auth = []string{"Authorization", "Bearer " + tt.token}
			}
			resp, body := ts.do(t, http.MethodGet, sessionsURL+"/"+tt.id, "", auth...)
			if tt.wantStatus != http.StatusOK {
				assertError(t, resp, body, tt.wantStatus, tt.wantInMessage)
				return
			}
			var s model.SessionInfo
			mustUnmarshal(t, body, &s)
			if s.ID != tt.id || s.SessionState != model.SessionInfoSessionStateCONNECTED {
				t.Errorf("session = %+v", s)
			}
		})
	}
}
