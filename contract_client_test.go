package sendmessage_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/client"
)

var adminCreds = client.Credentials{Username: testUser, Password: testPassword, Domain: testDomain}

// loginClient logs the test account in through the client, trusting the
// server's certificate when it has one.
func loginClient(t *testing.T, ts *testServer, opts ...client.Option) *client.Client {
	t.Helper()
	if ts.Certificate != nil {
		pool := x509.NewCertPool()
		pool.AddCert(ts.Certificate)
		opts = append(opts, client.WithCAPool(pool))
	}
	c, err := client.Login(context.Background(), ts.URL, adminCreds, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ids(sessions []client.Session) []string {
	out := []string{}
	for _, s := range sessions {
		out = append(out, s.ID)
	}
	return out
}

// The client does a Horizon administrator's whole job over HTTPS: log in,
// find the connected sessions of a pool, warn them, keep its token fresh,
// log out; and the server ends every token it used.
func TestClientWorkflowOverHTTPS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := startTLSServer(t)
	c := loginClient(t, ts, client.WithClock(ts.Clock.Now))

	connectedFinance := client.And(client.Equals("desktop_pool_id", "pool-finance"), client.Equals("session_state", client.SessionConnected))
	sessions, err := c.ListSessions(ctx, connectedFinance)
	if err != nil {
		t.Fatal(err)
	}
	targets := ids(sessions)
	if diff := cmp.Diff([]string{seedSessionID, "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f"}, targets); diff != "" {
		t.Fatalf("connected pool-finance sessions (-want +got):\n%s", diff)
	}
	one, err := c.GetSession(ctx, seedSessionID)
	if err != nil || one.DesktopPoolID != "pool-finance" || one.State != client.SessionConnected {
		t.Errorf("GetSession = %+v, %v", one, err)
	}

	results, err := c.SendMessage(ctx, client.MessageWarning, "Restart in 15 minutes", targets)
	if err != nil || !results.AllDelivered() {
		t.Fatalf("SendMessage = %+v, %v", results, err)
	}
	var delivered []string
	for _, m := range ts.delivered(t) {
		delivered = append(delivered, m.SessionID)
	}
	if diff := cmp.Diff(targets, delivered); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}

	// Later than four fifths of the access token's life, the client
	// refreshes before its call.
	ts.Clock.Advance(25 * time.Minute)
	ts.takeRequests()
	if _, err := c.GetSession(ctx, seedSessionID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"POST /rest/refresh", "GET /rest/inventory/v1/sessions/" + seedSessionID}, ts.takeRequests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if diff := cmp.Diff([]string{"POST /rest/logout"}, ts.takeRequests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	used := slices.DeleteFunc(ts.seenBearers(), func(token string) bool { return token == testToken })
	if len(used) != 2 {
		t.Fatalf("the client used %d access tokens, want 2", len(used))
	}
	for _, token := range used {
		if got := ts.sendWith(t, token); got != http.StatusUnauthorized {
			t.Errorf("an access token of the closed client gets %d, want 401", got)
		}
	}
	if _, err := c.ListSessions(ctx, client.Filter{}); !errors.Is(err, client.ErrClosed) {
		t.Errorf("ListSessions after Close: %v, want ErrClosed", err)
	}
}

// When the server has ended the login (here: every token expired while the
// client's clock stood still), the client logs in again, once, and goes on.
func TestClientLogsInAgainWhenTheServerEndedTheLogin(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withTokenTTLs(10*time.Minute, 20*time.Minute))
	c := loginClient(t, ts, client.WithClock(func() time.Time { return testClock }))
	ts.Clock.Advance(time.Hour)
	ts.takeRequests()
	if _, err := c.ListSessions(context.Background(), client.Equals("id", seedSessionID)); err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /rest/inventory/v1/sessions", "POST /rest/login", "GET /rest/inventory/v1/sessions"}
	if diff := cmp.Diff(want, ts.takeRequests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// The reference server answers 400 for a refresh token whose login has
// expired, as Horizon 8.0.0 does: the client logs in again and goes on, and
// Close, once that login has expired too, has nothing left to end.
func TestClientLogsInAgainWhenRefreshIsRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withTokenTTLs(10*time.Minute, 20*time.Minute))
	c := loginClient(t, ts, client.WithClock(ts.Clock.Now))
	ts.Clock.Advance(time.Hour)
	ts.takeRequests()
	if _, err := c.ListSessions(context.Background(), client.Equals("id", seedSessionID)); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /rest/refresh", "POST /rest/login", "GET /rest/inventory/v1/sessions"}
	if diff := cmp.Diff(want, ts.takeRequests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	ts.Clock.Advance(time.Hour)
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("Close after the login expired: %v", err)
	}
	if diff := cmp.Diff([]string{"POST /rest/logout"}, ts.takeRequests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// The client's filters mean on the server what their names say.
func TestClientFiltersOnTheServer(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := loginClient(t, ts, client.WithPageSize(2))
	const eng1, app = "4d3c2b1a-6f5e-4d7c-9b8a-0f1e2d3c4b5a", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	tests := []struct {
		name   string
		filter client.Filter
		want   []string
	}{
		{"all, three pages of two", client.Filter{}, []string{seedSessionID, connectedFinance, disconnected, eng1, pending, app}},
		{"not connected", client.NotEquals("session_state", client.SessionConnected), []string{disconnected, pending}},
		{"one user", client.Equals("user_id", "S-1-5-21-1085031214-1563985344-725345543-1105"), []string{connectedFinance, app}},
		{"machines by name", client.Or(client.Equals("machine_id", "machine-eng-001"), client.Equals("machine_id", "machine-fin-003")), []string{disconnected, eng1}},
		{"started at a time", client.Equals("start_time", time.UnixMilli(1561935600000)), []string{seedSessionID}},
		{"not a desktop", client.Not(client.Equals("session_type", "DESKTOP")), []string{app}},
		{"an application in use", client.Contains("application_names", "Microsoft Excel"), []string{app}},
		{"a boolean", client.Equals("brokered_remotely", true), []string{eng1}},
		{"idle for a given time", client.Equals("idle_duration", 24), []string{disconnected}},
		{"connected for an hour", client.Equals("last_session_duration_ms", time.Hour), []string{seedSessionID}},
		{"a device type", client.Equals("client_data.type", client.DeviceHTMLAccess), []string{eng1}},
		{"through an external gateway", client.Equals("security_gateway_data.location", client.GatewayExternal), []string{connectedFinance, eng1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.ListSessions(context.Background(), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("sessions (-want +got):\n%s", diff)
			}
		})
	}
}

// The client carries every field the server answers: the seed's session,
// read through the client, is the demo data's.
func TestClientReadsEveryField(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newClient(t, ts)
	got, err := c.GetSession(context.Background(), "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
	if err != nil {
		t.Fatal(err)
	}
	want := client.Session{
		ID:            "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
		UserID:        "S-1-5-21-1085031214-1563985344-725345543-1105",
		BrokerUserID:  "S-1-5-21-1085031214-1563985344-725345543-1105",
		AccessGroupID: "access-group-root",
		FarmID:        "farm-office-apps", RDSServerID: "rds-office-01", MachineID: "rds-office-01",
		AgentVersion: "8.0.0",
		Type:         client.ApplicationSession, State: client.SessionConnected, Protocol: client.ProtocolBlast,
		StartTime:              time.UnixMilli(1561936500000),
		IdleMinutes:            6,
		LastConnectionDuration: 45 * time.Minute,
		ApplicationNames:       []string{"Microsoft Excel", "Microsoft Word"},
		Device: client.Device{
			Address: "10.20.12.88", LocationID: "d41e8b2a6c9f4e1d7b3a5c8e2f0d9b6a4c1e7f3d5b8a2c6e9f0d",
			Name: "FIN-DT-0117", Type: client.DeviceWindows, Version: "5.4.0",
		},
		Gateway: client.SecurityGateway{Address: "10.20.0.30", DomainName: "uag-internal.example.com", Location: client.GatewayInternal},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
}

// A filter the server refuses comes back as an APIError that names the
// problem: a value the field does not hold, or a filter type that Horizon
// documents on no such field (the client sends it: which types a field
// takes is the server's to say).
func TestClientFilterRefusedByTheServer(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newClient(t, ts)
	for _, tt := range []struct {
		filter client.Filter
		want   string
	}{
		{client.Equals("session_state", "connected"), `query parameter "filter": /value: value is not one of the allowed values`},
		{client.StartsWith("machine_id", "machine-eng"), `query parameter "filter": /type: field "machine_id" takes Equals, not StartsWith`},
		{client.Between("start_time", 1561935600000, 1561937400000), `query parameter "filter": /type: field "start_time" takes Equals, not Between`},
		{client.NotEquals("desktop_pool_id", "pool-finance"), `query parameter "filter": /type: field "desktop_pool_id" takes Equals, not NotEquals`},
	} {
		_, err := c.ListSessions(context.Background(), tt.filter)
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: err = %v, want a 400 APIError", tt.filter, err)
		}
		if !strings.Contains(apiErr.Message(), tt.want) {
			t.Errorf("%s: message %q, want it to contain %q", tt.filter, apiErr.Message(), tt.want)
		}
		if apiErr.Key() != "bad.request" {
			t.Errorf("%s: error_key %q, want bad.request", tt.filter, apiErr.Key())
		}
	}
}
