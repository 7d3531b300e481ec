package sendmessage_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/client"
)

// The Go client against the reference server's injected faults: what each
// kind of failure looks like to a program that uses the client.

// A 503 with Retry-After is an *APIError that says how long to wait; the
// server did not act.
func TestClientSeesServiceUnavailable(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	rule := ts.addFault(t, `{"operation":"sendMessageToSessions","action":"respond","status":503,"retry_after_seconds":2,"times":1}`)
	c := newClient(t, ts)
	_, err := c.SendMessage(context.Background(), client.MessageInfo, "m", []string{seedSessionID})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("SendMessage = %v, want an *APIError", err)
	}
	after, ok := apiErr.RetryAfter()
	if apiErr.StatusCode != http.StatusServiceUnavailable || !ok || after != 2*time.Second || apiErr.Message() != "service unavailable: retry later" {
		t.Errorf("APIError %d %q, RetryAfter %s %v", apiErr.StatusCode, apiErr.Message(), after, ok)
	}
	if got := ts.delivered(t); len(got) != 0 {
		t.Errorf("delivered %+v", got)
	}
	if got := ts.fault(t, rule.ID).Hits; got != 1 {
		t.Errorf("hits = %d", got)
	}
	// The rule's one time used up, the same call goes through.
	results, err := c.SendMessage(context.Background(), client.MessageInfo, "m", []string{seedSessionID})
	if err != nil || !results.AllDelivered() {
		t.Errorf("second try: %v, %+v", err, results)
	}
}

// An answer lost after the server acted is an error that is not an
// *APIError, and the client does not send again: the record shows one
// delivery, marked with the rule that dropped its answer.
func TestClientDoesNotResendAfterALostAnswer(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	rule := ts.addFault(t, `{"operation":"sendMessageToSessions","action":"close_after_acting","times":1}`)
	c := newClient(t, ts)
	ts.takeRequests()
	_, err := c.SendMessage(context.Background(), client.MessageWarning, "Restart in 15 minutes", []string{seedSessionID})
	var apiErr *client.APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("SendMessage = %v, want a connection error", err)
	}
	if diff := cmp.Diff([]string{"POST " + sendMessageURL}, ts.takeRequests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	got := ts.delivered(t)
	if len(got) != 1 || got[0].SessionID != seedSessionID || got[0].FaultID == nil || *got[0].FaultID != rule.ID {
		t.Errorf("record %+v, want one delivery marked with rule %s", got, rule.ID)
	}
}

// A session that fails inside a 200 answer is a failed result with the
// rule's status and reason; the others are delivered.
func TestClientShowsASessionThatFailed(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.addFault(t, `{"operation":"sendMessageToSessions","session_ids":["`+connectedFinance+`"],"action":"fail_sessions","item_status":504,"error_key":"agent.timeout","error_message":"The Horizon Agent did not answer in time."}`)
	c := newClient(t, ts)
	results, err := c.SendMessage(context.Background(), client.MessageInfo, "m", []string{seedSessionID, connectedFinance})
	if err != nil {
		t.Fatal(err)
	}
	failed := results.Failed()
	if len(results.Delivered()) != 1 || len(failed) != 1 {
		t.Fatalf("results %+v: want one delivered, one failed", results)
	}
	if failed[0].SessionID != connectedFinance || failed[0].StatusCode != http.StatusGatewayTimeout || failed[0].Reason() != "The Horizon Agent did not answer in time." {
		t.Errorf("failed %+v", failed[0])
	}
	if got := ts.delivered(t); len(got) != 1 || got[0].SessionID != seedSessionID {
		t.Errorf("record %+v", got)
	}
}

// A delay beyond the caller's deadline ends the call with the deadline;
// the server acted before the delay, and stops waiting when the client goes.
func TestClientGivesUpOnADelay(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.addFault(t, `{"operation":"sendMessageToSessions","action":"delay","delay_ms":600000}`)
	c := newClient(t, ts)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.SendMessage(ctx, client.MessageInfo, "m", []string{seedSessionID})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendMessage = %v, want the deadline", err)
	}
	if got := ts.delivered(t); len(got) != 1 || got[0].FaultID != nil {
		t.Errorf("record %+v, want the one delivery, unmarked", got)
	}
}

// A login that a rule refuses with 503 is an *APIError of the login; the
// next login, the rule used up, succeeds.
func TestClientLoginMeetsAFault(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.addFault(t, `{"operation":"login","username":"`+testUser+`","action":"respond","status":503,"retry_after_seconds":1,"times":1}`)
	_, err := client.Login(context.Background(), ts.URL, adminCreds)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("Login = %v, want a 503 *APIError", err)
	}
	if after, ok := apiErr.RetryAfter(); !ok || after != time.Second {
		t.Errorf("RetryAfter = %s, %v", after, ok)
	}
	c := loginClient(t, ts)
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}
