package client_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/model"
)

// Filters are the spec's SessionFilter, with the members in the generated
// types' (alphabetical) order, the same text every time.
func TestFilterJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		filter client.Filter
		want   string
	}{
		{"Equals", client.Equals("desktop_pool_id", "pool-a"), `{"name":"desktop_pool_id","type":"Equals","value":"pool-a"}`},
		{"Equals a state", client.Equals("session_state", client.SessionConnected), `{"name":"session_state","type":"Equals","value":"CONNECTED"}`},
		{"Equals an empty string", client.Equals("user_id", ""), `{"name":"user_id","type":"Equals","value":""}`},
		{"Equals zero", client.Equals("start_time", 0), `{"name":"start_time","type":"Equals","value":0}`},
		{"Equals an integer past 2^53", client.Equals("start_time", int64(1<<53+1)), `{"name":"start_time","type":"Equals","value":9007199254740993}`},
		{"NotEquals", client.NotEquals("session_state", client.SessionPending), `{"name":"session_state","type":"NotEquals","value":"PENDING"}`},
		{"Contains", client.Contains("machine_id", "fin"), `{"name":"machine_id","type":"Contains","value":"fin"}`},
		{"StartsWith", client.StartsWith("machine_id", "m-"), `{"name":"machine_id","type":"StartsWith","value":"m-"}`},
		{"EndsWith", client.EndsWith("machine_id", "-1"), `{"name":"machine_id","type":"EndsWith","value":"-1"}`},
		{"Between", client.Between("start_time", 1, 2), `{"fromValue":1,"name":"start_time","toValue":2,"type":"Between"}`},
		{
			"the guide's And",
			client.And(client.Equals("desktop_pool_id", "p"), client.Equals("session_state", client.SessionConnected)),
			`{"filters":[{"name":"desktop_pool_id","type":"Equals","value":"p"},{"name":"session_state","type":"Equals","value":"CONNECTED"}],"type":"And"}`,
		},
		{"Or", client.Or(client.Equals("farm_id", "f")), `{"filters":[{"name":"farm_id","type":"Equals","value":"f"}],"type":"Or"}`},
		{"Not", client.Not(client.Equals("id", "x")), `{"filter":{"name":"id","type":"Equals","value":"x"},"type":"Not"}`},
	}
	for _, tt := range tests {
		if got := tt.filter.String(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestFilterRefusesEmptyParts(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]client.Filter{
		"And of nothing":     client.And(),
		"Or of nothing":      client.Or(),
		"Not of nothing":     client.Not(client.Filter{}),
		"an empty filter in": client.And(client.Equals("id", "a"), client.Filter{}),
		"deep inside":        client.Or(client.Not(client.And()), client.Equals("id", "a")),
		"the zero Filter":    {},
	} {
		if _, err := f.MarshalJSON(); !errors.Is(err, client.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
}

// sessions are n connected sessions as the server sends them.
func sessions(n int) []model.SessionInfo {
	out := make([]model.SessionInfo, n)
	for i := range out {
		out[i] = model.SessionInfo{ID: fmt.Sprintf("s%d", i+1), SessionState: model.SessionInfoSessionStateCONNECTED}
	}
	return out
}

// clientSessions are sessions(n) as the client returns them.
func clientSessions(n int) []client.Session {
	out := make([]client.Session, n)
	for i := range out {
		out[i] = client.Session{ID: fmt.Sprintf("s%d", i+1), State: client.SessionConnected}
	}
	return out
}

func TestSessionsWalksEveryPage(t *testing.T) {
	t.Parallel()
	filter := client.Equals("desktop_pool_id", "pool-a")
	query := func(page int) string {
		return "sessions?" + url.Values{"filter": {filter.String()}, "page": {fmt.Sprint(page)}, "size": {"2"}}.Encode()
	}
	tests := []struct {
		name      string
		n         int
		stopAfter int // 0: walk to the end
		wantIDs   int
		wantCalls []string
	}{
		{"five sessions, three pages", 5, 0, 5, []string{query(1), query(2), query(3)}},
		{"four sessions: the second page says no more", 4, 0, 4, []string{query(1), query(2)}},
		{"no sessions", 0, 0, 0, []string{query(1)}},
		{"stopping early reads no further", 5, 3, 3, []string{query(1), query(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startHorizon(t, 0, time.Now)
			h.sessions = sessions(tt.n)
			c, err := client.Login(context.Background(), h.URL, creds, client.WithPageSize(2))
			if err != nil {
				t.Fatal(err)
			}
			h.takeCalls()
			var ids []string
			for s, err := range c.Sessions(context.Background(), filter) {
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, s.ID)
				if len(ids) == tt.stopAfter {
					break
				}
			}
			if len(ids) != tt.wantIDs {
				t.Errorf("got %d sessions, want %d", len(ids), tt.wantIDs)
			}
			if diff := cmp.Diff(tt.wantCalls, h.takeCalls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListSessionsWithoutFilterSendsNone(t *testing.T) {
	t.Parallel()
	h := startHorizon(t, 0, time.Now)
	h.sessions = sessions(3)
	c, err := client.Login(context.Background(), h.URL, creds)
	if err != nil {
		t.Fatal(err)
	}
	h.takeCalls()
	got, err := c.ListSessions(context.Background(), client.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(clientSessions(3), got); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	// The page size is the spec's maximum.
	if diff := cmp.Diff([]string{"sessions?page=1&size=1000"}, h.takeCalls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestListSessionsReportsErrors(t *testing.T) {
	t.Parallel()
	h := startHorizon(t, 0, time.Now)
	c, err := client.New(h.URL, client.WithToken("not-valid"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListSessions(context.Background(), client.Filter{})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("err = %v, want a 401 APIError", err)
	}
	if _, err := c.ListSessions(context.Background(), client.And()); !errors.Is(err, client.ErrInvalidInput) {
		t.Errorf("an empty And: err = %v, want ErrInvalidInput", err)
	}
}

func TestGetSession(t *testing.T) {
	t.Parallel()
	h := startHorizon(t, 0, time.Now)
	h.sessions = append(sessions(1), disconnectedDesktop(t))
	c, err := client.Login(context.Background(), h.URL, creds)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSession(context.Background(), "s2")
	if err != nil {
		t.Fatalf("GetSession(s2): %v", err)
	}
	want := client.Session{
		ID:               "s2",
		UserID:           "S-1-5-21-1085031214-1563985344-725345543-1104",
		BrokerUserID:     "S-1-5-21-1085031214-1563985344-725345543-1105",
		AccessGroupID:    "root",
		DesktopPoolID:    "pool-finance",
		MachineID:        "machine-fin-001",
		AgentVersion:     "8.6.0",
		Type:             client.DesktopSession,
		State:            client.SessionDisconnected,
		Protocol:         client.ProtocolBlast,
		StartTime:        time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC),
		DisconnectedTime: time.Date(2019, 7, 1, 0, 30, 0, 0, time.UTC),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetSession(s2) (-want +got):\n%s", diff)
	}
	_, err = c.GetSession(context.Background(), "s9")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("GetSession(s9): err = %v, want a 404 APIError", err)
	}
	if _, err := c.GetSession(context.Background(), ""); !errors.Is(err, client.ErrInvalidInput) {
		t.Errorf("GetSession(\"\"): err = %v, want ErrInvalidInput", err)
	}
}

// disconnectedDesktop is session s2, a disconnected desktop session, in the
// JSON that Horizon sends.
func disconnectedDesktop(t *testing.T) model.SessionInfo {
	t.Helper()
	var m model.SessionInfo
	err := json.Unmarshal([]byte(`{"id": "s2",
		"user_id": "S-1-5-21-1085031214-1563985344-725345543-1104",
		"broker_user_id": "S-1-5-21-1085031214-1563985344-725345543-1105",
		"access_group_id": "root", "desktop_pool_id": "pool-finance", "machine_id": "machine-fin-001",
		"agent_version": "8.6.0", "session_type": "DESKTOP", "session_state": "DISCONNECTED",
		"session_protocol": "BLAST", "start_time": 1561939200000, "disconnected_time": 1561941000000}`), &m)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWithPageSizeBounds(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, -1, 1001} {
		if _, err := client.New("https://h.example.com", client.WithPageSize(n)); !errors.Is(err, client.ErrInvalidInput) {
			t.Errorf("WithPageSize(%d): err = %v, want ErrInvalidInput", n, err)
		}
	}
	if _, err := client.New("https://h.example.com", client.WithPageSize(1000)); err != nil {
		t.Errorf("WithPageSize(1000): %v", err)
	}
}

func TestTLSOptions(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, []model.SessionInfo{})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	certFile := filepath.Join(t.TempDir(), "server.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		opts      []client.Option
		wantError bool
	}{
		{"system roots refuse a self-signed certificate", nil, true},
		{"CA pool", []client.Option{client.WithCAPool(pool)}, false},
		{"CA file", []client.Option{client.WithCACertFile(certFile)}, false},
		{"other CA pool", []client.Option{client.WithCAPool(x509.NewCertPool())}, true},
		{"no verification (unsafe)", []client.Option{client.WithInsecureSkipVerify()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(srv.URL, append([]client.Option{client.WithToken("t")}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListSessions(context.Background(), client.Filter{})
			var unknownAuthority x509.UnknownAuthorityError
			if tt.wantError != errors.As(err, &unknownAuthority) || (!tt.wantError && err != nil) {
				t.Errorf("err = %v, want an unknown-authority error: %v", err, tt.wantError)
			}
		})
	}
}

func TestTLSOptionsRefused(t *testing.T) {
	t.Parallel()
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []client.Option
		want string
	}{
		{"nil pool", []client.Option{client.WithCAPool(nil)}, "nil pool"},
		{"missing file", []client.Option{client.WithCACertFile(filepath.Join(t.TempDir(), "absent.pem"))}, "absent.pem"},
		{"file without PEM", []client.Option{client.WithCACertFile(notPEM)}, "no PEM certificate"},
		{"pool and no verification", []client.Option{client.WithCAPool(x509.NewCertPool()), client.WithInsecureSkipVerify()}, "choose one"},
		{"TLS option on a given HTTP client", []client.Option{client.WithHTTPClient(&http.Client{}), client.WithInsecureSkipVerify()}, "WithHTTPClient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client.New("https://h.example.com", tt.opts...)
			if !errors.Is(err, client.ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidInput mentioning %q", err, tt.want)
			}
		})
	}
}

// Values are sent as Horizon's JSON carries them: times and durations in
// milliseconds, enums as their text.
func TestFilterValuesByField(t *testing.T) {
	t.Parallel()
	start := time.Date(2019, 6, 30, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		filter client.Filter
		want   string
	}{
		{"a time", client.Equals("start_time", start), `{"name":"start_time","type":"Equals","value":1561935600000}`},
		{"a time as milliseconds", client.Equals("disconnected_time", int64(1561935600000)), `{"name":"disconnected_time","type":"Equals","value":1561935600000}`},
		{"times", client.Between("start_time", start, start.Add(time.Hour)), `{"fromValue":1561935600000,"name":"start_time","toValue":1561939200000,"type":"Between"}`},
		{"a duration", client.Between("last_session_duration_ms", 30*time.Minute, time.Hour), `{"fromValue":1800000,"name":"last_session_duration_ms","toValue":3600000,"type":"Between"}`},
		{"minutes", client.Equals("idle_duration", 5), `{"name":"idle_duration","type":"Equals","value":5}`},
		{"a boolean", client.Equals("brokered_remotely", true), `{"name":"brokered_remotely","type":"Equals","value":true}`},
		{"a device type", client.Equals("client_data.type", client.DeviceHTMLAccess), `{"name":"client_data.type","type":"Equals","value":"HTMLACCESS"}`},
		{"a gateway location", client.NotEquals("security_gateway_data.location", client.GatewayExternal), `{"name":"security_gateway_data.location","type":"NotEquals","value":"EXTERNAL"}`},
		{"membership of a list", client.Contains("application_names", "Microsoft Excel"), `{"name":"application_names","type":"Contains","value":"Microsoft Excel"}`},
	}
	for _, tt := range tests {
		if got := tt.filter.String(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// A field SessionInfo lacks, or a value of the wrong type for the field,
// makes a Filter that says so and sends nothing.
func TestFilterRefusesWhatTheFieldCannotHold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		filter client.Filter
		want   string
	}{
		{"text for a time", client.Equals("start_time", "yesterday"), `Equals("start_time", string): the field holds a time in milliseconds since the Unix epoch: give a time.Time`},
		{"text for times", client.Between("start_time", "a", "b"), "give a time.Time"},
		{"a number for text", client.Equals("desktop_pool_id", 5), `Equals("desktop_pool_id", int): the field holds text`},
		{"a time for text", client.NotEquals("machine_id", time.Now()), "the field holds text"},
		{"a time for a duration", client.Equals("last_session_duration_ms", time.Now()), "give a time.Duration"},
		{"a duration for minutes", client.Equals("idle_duration", 5*time.Minute), `Equals("idle_duration", time.Duration): the field holds a number: give an integer`},
		{"a duration for a time", client.Equals("start_time", time.Hour), "give a time.Time"},
		{"text for a boolean", client.Equals("brokered_remotely", "true"), "give a bool"},
		{"a range of booleans", client.Between("unauthenticated", false, true), "no order"},
		{"Equals on a list", client.Equals("application_names", "Microsoft Excel"), "only Contains applies"},
		{"StartsWith on a number", client.StartsWith("start_time", "156"), "StartsWith compares text"},
		{"EndsWith on a list", client.EndsWith("application_names", "Excel"), "only Contains applies"},
		{"an unknown field", client.Equals("pool", "pool-finance"), `Equals("pool"): SessionInfo has no such field; its fields are access_group_id,`},
		{"an object", client.Contains("client_data", "MAC"), `the field holds an object: name one of its fields, such as "client_data.address"`},
		{"inside And", client.And(client.Equals("id", "a"), client.Equals("session_state", true)), "the field holds text"},
	}
	c, err := client.New("http://127.0.0.1:1", client.WithToken("t")) // a request would fail to connect
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if _, err := tt.filter.MarshalJSON(); !errors.Is(err, client.ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: MarshalJSON error = %v, want ErrInvalidInput with %q", tt.name, err, tt.want)
		}
		_, err := c.ListSessions(context.Background(), tt.filter)
		if !errors.Is(err, client.ErrInvalidInput) || !strings.Contains(err.Error(), "list sessions: ") {
			t.Errorf("%s: ListSessions error = %v, want the filter's, before any request", tt.name, err)
		}
	}
}
