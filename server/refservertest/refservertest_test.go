package refservertest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
	"github.com/hzkit/sendmessage/server/refservertest"
)

const (
	seedID           = "7cdd624f-37d1-46c1-ab96-695a5d13956f"
	connectedFinance = "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f"
)

// newServer is refservertest.New with every answer held against the spec.
func newServer(t *testing.T, opts ...refservertest.Option) *refservertest.Server {
	t.Helper()
	checker := spectest.Load(t)
	wrap := refservertest.WrapHandler(func(h http.Handler) http.Handler { return checker.Handler(t, h) })
	return refservertest.New(t, append([]refservertest.Option{wrap}, opts...)...)
}

// sessionIDs returns the ids of sessions, in order.
func sessionIDs(sessions []client.Session) []string {
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.ID
	}
	return ids
}

// deliveredIDs returns the session ids of deliveries, in order.
func deliveredIDs(t *testing.T, srv *refservertest.Server) []string {
	t.Helper()
	delivered, err := srv.Delivered(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(delivered))
	for i, m := range delivered {
		ids[i] = m.SessionID
	}
	return ids
}

// Without options: the demo data, the demo administrator logged in, a token
// that the inspection operations take, and a record of what was delivered.
func TestNewWithDemoData(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q, want http on loopback", srv.URL)
	}
	if got, want := srv.Credentials.String(), server.DemoAdminDomain+`\`+server.DemoAdminUsername; got != want {
		t.Errorf("logged in as %s, want %s", got, want)
	}
	if srv.Credentials.Password == "" || srv.Token == "" || srv.Token == srv.Credentials.Password {
		t.Error("want a made-up password and a token of their own")
	}
	sessions, err := srv.Client.ListSessions(t.Context(), client.Equals("desktop_pool_id", "pool-finance"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(sessions); got != 3 {
		t.Errorf("pool-finance has %d demo sessions, want 3", got)
	}
	results, err := srv.Client.SendMessage(t.Context(), client.MessageInfo, "hello", []string{seedID})
	if err != nil || !results.AllDelivered() {
		t.Fatalf("send = %v, %v", results, err)
	}
	delivered, err := srv.Delivered(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(delivered) != 1 {
		t.Fatalf("delivered %+v, want one message", delivered)
	}
	m := delivered[0]
	if m.SessionID != seedID || m.Message != "hello" || m.MessageType != model.DeliveredMessageMessageTypeINFO ||
		m.FaultID != nil || m.Timestamp != results[0].Time.UnixMilli() || m.UserID == nil {
		t.Errorf("delivered %+v, want the INFO to %s at %v with its user, under no fault", m, seedID, results[0].Time)
	}
	// The token is the operator's: it sends, and reads the record.
	byToken, err := client.New(srv.URL, client.WithToken(srv.Token), client.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := byToken.SendMessage(t.Context(), client.MessageError, "by token", []string{connectedFinance}); err != nil {
		t.Fatal(err)
	}
	if got, err := srv.DeliveredTo(t.Context(), connectedFinance); err != nil || len(got) != 1 || got[0].Message != "by token" {
		t.Errorf("DeliveredTo(%s) = %+v, %v; want the one message sent there", connectedFinance, got, err)
	}
	if err := srv.ClearDelivered(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := deliveredIDs(t, srv); len(got) != 0 {
		t.Errorf("after ClearDelivered: %v", got)
	}
	if srv.Certificate() != nil {
		t.Error("a certificate without WithTLS")
	}
}

// WithSessions and WithUsers replace the demo data; Client logs in as the
// first user.
func TestWithSessionsAndUsers(t *testing.T) {
	t.Parallel()
	pool := "pool-lab"
	sessions := []model.SessionInfo{
		{ID: "s-1", SessionState: model.SessionInfoSessionStateCONNECTED, DesktopPoolID: &pool},
		{ID: "s-2", SessionState: model.SessionInfoSessionStateDISCONNECTED, DesktopPoolID: &pool},
	}
	users := []model.ReferenceUser{
		{Username: "operator", Domain: "LAB", Password: "first-secret"},
		{Username: "second", Domain: "LAB", Password: "second-secret"},
	}
	srv := newServer(t, refservertest.WithSessions(sessions...), refservertest.WithUsers(users...))
	if srv.Credentials != (client.Credentials{Username: "operator", Domain: "LAB", Password: "first-secret"}) {
		t.Errorf("Credentials = %v, want the first user's", srv.Credentials)
	}
	got, err := srv.Client.ListSessions(t.Context(), client.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"s-1", "s-2"}, sessionIDs(got)); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	// The second user logs in too; the demo administrator does not exist.
	if _, err := client.Login(t.Context(), srv.URL, client.Credentials{Username: "second", Domain: "LAB", Password: "second-secret"},
		client.WithHTTPClient(srv.HTTPClient())); err != nil {
		t.Errorf("second user: %v", err)
	}
	_, err = client.Login(t.Context(), srv.URL, client.Credentials{Username: server.DemoAdminUsername, Domain: server.DemoAdminDomain, Password: "x"},
		client.WithHTTPClient(srv.HTTPClient()))
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("demo administrator's login = %v, want 401", err)
	}
}

// With no users and no sessions, Client carries the operator's token.
func TestNoUsersNoSessions(t *testing.T) {
	t.Parallel()
	srv := newServer(t, refservertest.WithUsers(), refservertest.WithSessions())
	if srv.Credentials != (client.Credentials{}) {
		t.Errorf("Credentials = %v, want none", srv.Credentials)
	}
	got, err := srv.Client.ListSessions(t.Context(), client.Filter{})
	if err != nil || len(got) != 0 {
		t.Errorf("ListSessions = %v, %v; want none", got, err)
	}
	results, err := srv.Client.SendMessage(t.Context(), client.MessageInfo, "anyone?", []string{seedID})
	if err != nil || len(results) != 1 || results[0].StatusCode != http.StatusNotFound {
		t.Errorf("send to a session that is not there = %+v, %v; want a 404 item", results, err)
	}
}

// Fault rules from the start and at run time, listed with their hits,
// deleted one by one or all at once; deliveries whose answer a rule kept from
// the client name it.
func TestFaultRules(t *testing.T) {
	t.Parallel()
	status, once := int32(504), int32(1)
	srv := newServer(t, refservertest.WithFaults(refservertest.Rule(model.FailSessionsFaultRule{
		Operation:  model.FailSessionsFaultRuleOperationSendMessageToSessions,
		SessionIDs: &[]string{connectedFinance},
		ItemStatus: &status,
	})))
	ctx := t.Context()
	results, err := srv.Client.SendMessage(ctx, client.MessageWarning, "w", []string{seedID, connectedFinance})
	if err != nil {
		t.Fatal(err)
	}
	if failed := results.Failed(); len(failed) != 1 || failed[0].SessionID != connectedFinance || failed[0].StatusCode != http.StatusGatewayTimeout {
		t.Errorf("failed %+v, want %s with 504", failed, connectedFinance)
	}

	busy, retry := int32(503), int32(2)
	added, err := srv.AddFault(ctx, refservertest.Rule(model.RespondFaultRule{
		Operation: model.FaultOperationSendMessageToSessions, Status: busy, RetryAfterSeconds: &retry, Times: &once,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if action, err := added.Rule.Discriminator(); err != nil || added.ID != "2" || added.Hits != 0 || action != "respond" {
		t.Errorf("AddFault = %+v, want rule 2, no hits yet", added)
	}
	// The new rule comes after the first, which does not match a send to
	// the seed session alone.
	_, err = srv.Client.SendMessage(ctx, client.MessageWarning, "w", []string{seedID})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("send under a 503 rule = %v", err)
	}
	if wait, ok := apiErr.RetryAfter(); !ok || wait.Seconds() != 2 {
		t.Errorf("Retry-After %v %t, want 2s", wait, ok)
	}

	lost, err := srv.AddFault(ctx, refservertest.Rule(model.CloseAfterActingFaultRule{
		Operation: model.FaultOperationSendMessageToSessions, Times: &once,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client.SendMessage(ctx, client.MessageError, "lost", []string{seedID}); err == nil {
		t.Fatal("send under close_after_acting succeeded")
	}
	delivered, err := srv.DeliveredTo(ctx, seedID)
	if err != nil {
		t.Fatal(err)
	}
	if last := delivered[len(delivered)-1]; last.Message != "lost" || last.FaultID == nil || *last.FaultID != lost.ID {
		t.Errorf("last delivery %+v, want the lost answer's, under rule %s", last, lost.ID)
	}

	faults, err := srv.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hits := map[string]int64{}
	for _, f := range faults {
		hits[f.ID] = f.Hits
	}
	if diff := cmp.Diff(map[string]int64{"1": 1, "2": 1, "3": 1}, hits); diff != "" {
		t.Errorf("hits by rule (-want +got):\n%s", diff)
	}
	if err := srv.DeleteFault(ctx, "2"); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteFault(ctx, "2"); err == nil || !strings.Contains(err.Error(), `Fault rule "2" does not exist`) {
		t.Errorf("deleting rule 2 again = %v, want the server's 404 reason", err)
	}
	if faults, err := srv.Faults(ctx); err != nil || len(faults) != 2 {
		t.Errorf("after deleting one: %+v, %v", faults, err)
	}
	if err := srv.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	if faults, err := srv.Faults(ctx); err != nil || len(faults) != 0 {
		t.Errorf("after clearing: %+v, %v", faults, err)
	}
}

// A rule the server refuses is an error that says why, from AddFault and
// from the start.
func TestRefusedFaultRules(t *testing.T) {
	t.Parallel()
	notDeclared := int32(404)
	rule := refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationSendMessageToSessions, Status: notDeclared})
	const want = "sendMessageToSessions does not declare 404"

	srv := newServer(t)
	if _, err := srv.AddFault(t.Context(), rule); err == nil || !strings.Contains(err.Error(), "400 Bad Request") || !strings.Contains(err.Error(), want) {
		t.Errorf("AddFault = %v, want a 400 that says %q", err, want)
	}
	if _, err := refservertest.Start(refservertest.WithFaults(rule)); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Start = %v, want an error that says %q", err, want)
	}
	emptied := refservertest.WithConfig(func(c *server.Config) { c.Token = "" })
	if _, err := refservertest.Start(emptied); err == nil || !strings.Contains(err.Error(), "Token") {
		t.Errorf("Start with no token = %v, want an error naming Token", err)
	}
}

// Limits are the server's: past them the client gets the server's 400.
func TestWithLimits(t *testing.T) {
	t.Parallel()
	srv := newServer(t, refservertest.WithLimits(server.Limits{MaxMessageLength: 5}))
	_, err := srv.Client.SendMessage(t.Context(), client.MessageInfo, "too long", []string{seedID})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message(), "maximum string length is 5") {
		t.Errorf("send past the limit = %v, want 400 naming the limit", err)
	}
	if _, err := srv.Client.SendMessage(t.Context(), client.MessageInfo, "short", []string{seedID}); err != nil {
		t.Errorf("send within the limit: %v", err)
	}
}

// WithConfig sets what the other options do not, after them.
func TestWithConfig(t *testing.T) {
	t.Parallel()
	srv := newServer(t, refservertest.WithConfig(func(c *server.Config) {
		c.Token = "my-operator-token"
		c.MaxRecordedMessages = 1
	}))
	if srv.Token != "my-operator-token" {
		t.Errorf("Token = %q, want the one WithConfig set", srv.Token)
	}
	for _, id := range []string{seedID, connectedFinance} {
		if _, err := srv.Client.SendMessage(t.Context(), client.MessageInfo, "m", []string{id}); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{connectedFinance}, deliveredIDs(t, srv)); diff != "" {
		t.Errorf("a record of one keeps the newest (-want +got):\n%s", diff)
	}
}

// Delivered reads every page of the record.
func TestDeliveredReadsEveryPage(t *testing.T) {
	t.Parallel()
	sessions := make([]model.SessionInfo, model.ListDeliveredMessagesLimitMaximum+1)
	ids := make([]string, len(sessions))
	for i := range sessions {
		ids[i] = fmt.Sprintf("session-%04d", i)
		sessions[i] = model.SessionInfo{ID: ids[i], SessionState: model.SessionInfoSessionStateCONNECTED}
	}
	srv := newServer(t, refservertest.WithSessions(sessions...))
	if _, err := srv.Client.SendMessage(t.Context(), client.MessageInfo, "all", ids); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids, deliveredIDs(t, srv)); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

// WithTLS serves HTTPS with a certificate that Client and HTTPClient trust,
// and no other client does.
func TestWithTLS(t *testing.T) {
	t.Parallel()
	srv := newServer(t, refservertest.WithTLS())
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") || srv.Certificate() == nil {
		t.Fatalf("URL %q, certificate %v; want HTTPS with a certificate", srv.URL, srv.Certificate())
	}
	if _, err := srv.Client.SendMessage(t.Context(), client.MessageInfo, "tls", []string{seedID}); err != nil {
		t.Fatal(err)
	}
	_, err := client.Login(t.Context(), srv.URL, srv.Credentials)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client that does not trust the certificate: %v", err)
	}
}

// Each test gets a server of its own: parallel tests see only their own
// deliveries and rules, and no token works on another's server.
func TestParallelServersAreIsolated(t *testing.T) {
	t.Parallel()
	const n = 4
	servers := make(chan *refservertest.Server, n)
	// After every subtest has ended: each server is closed, and each had an
	// address and a token of its own.
	t.Cleanup(func() {
		close(servers)
		var urls, tokens []string
		for srv := range servers {
			urls, tokens = append(urls, srv.URL), append(tokens, srv.Token)
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/rest/refserver/v1/health", http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("%s still answers after its test ended: %s", srv.URL, resp.Status)
			}
		}
		count := len(urls)
		slices.Sort(urls)
		slices.Sort(tokens)
		distinctURLs, distinctTokens := len(slices.Compact(urls)), len(slices.Compact(tokens))
		if count != n || distinctURLs != n || distinctTokens != n {
			t.Errorf("%d servers, %d distinct URLs, %d distinct tokens; want %d of each", count, distinctURLs, distinctTokens, n)
		}
	})
	for i := range n {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			servers <- srv
			message := fmt.Sprintf("message %d", i)
			if _, err := srv.AddFault(t.Context(), refservertest.Rule(model.DelayFaultRule{
				Operation: model.FaultOperationListSessions,
			})); err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Client.SendMessage(t.Context(), client.MessageInfo, message, []string{seedID}); err != nil {
				t.Fatal(err)
			}
			delivered, err := srv.Delivered(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(delivered) != 1 || delivered[0].Message != message {
				t.Errorf("delivered %+v, want only %q", delivered, message)
			}
			if faults, err := srv.Faults(t.Context()); err != nil || len(faults) != 1 || faults[0].ID != "1" {
				t.Errorf("faults %+v, %v; want only this test's rule 1", faults, err)
			}
		})
	}
}

// Close logs the client out and stops the server; a second Close does
// nothing.
func TestClose(t *testing.T) {
	t.Parallel()
	srv, err := refservertest.Start()
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Close()
	if _, err := srv.Client.ListSessions(t.Context(), client.Filter{}); !errors.Is(err, client.ErrClosed) {
		t.Errorf("client after Close: %v, want ErrClosed", err)
	}
}
