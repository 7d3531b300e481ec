package refservertest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/refservertest"
)

// warnPool is the automation under test: it warns every connected session
// of a desktop pool and returns what happened to each.
func warnPool(ctx context.Context, c *client.Client, pool, text string) (client.Results, error) {
	sessions, err := c.ListSessions(ctx, client.And(
		client.Equals("desktop_pool_id", pool),
		client.Equals("session_state", client.SessionConnected)))
	if err != nil {
		return nil, fmt.Errorf("list the sessions of %s: %w", pool, err)
	}
	if len(sessions) == 0 {
		return nil, nil
	}
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.ID
	}
	results, err := c.SendMessage(ctx, client.MessageWarning, text, ids)
	if err != nil {
		return nil, fmt.Errorf("warn %s: %w", pool, err)
	}
	return results, nil
}

// The automation against the demo data: pool-finance has two connected
// sessions and a disconnected one, which cannot show a message.
func Example() {
	// In a test: srv := refservertest.New(t), which stops with the test.
	srv, err := refservertest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx := context.Background()

	results, err := warnPool(ctx, srv.Client, "pool-finance", "This desktop restarts at 18:00.")
	if err != nil {
		panic(err)
	}
	fmt.Println("all delivered:", results.AllDelivered())

	delivered, err := srv.Delivered(ctx)
	if err != nil {
		panic(err)
	}
	for _, m := range delivered {
		fmt.Println(m.SessionID, m.MessageType, m.Message)
	}
	// Output:
	// all delivered: true
	// 7cdd624f-37d1-46c1-ab96-695a5d13956f WARNING This desktop restarts at 18:00.
	// 2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f WARNING This desktop restarts at 18:00.
}

// A fault rule in force from the start: the Horizon Agent of one session
// does not answer, so the server fails that session inside its 200 answer.
// The automation must report it, not count it as warned.
func Example_agentDoesNotAnswer() {
	const silent = "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f"
	status, reason := int32(504), "The Horizon Agent did not answer in time."
	srv, err := refservertest.Start(refservertest.WithFaults(refservertest.Rule(model.FailSessionsFaultRule{
		Operation:    model.FailSessionsFaultRuleOperationSendMessageToSessions,
		SessionIDs:   &[]string{silent},
		ItemStatus:   &status,
		ErrorMessage: &reason,
	})))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx := context.Background()

	results, err := warnPool(ctx, srv.Client, "pool-finance", "This desktop restarts at 18:00.")
	if err != nil {
		panic(err)
	}
	for _, r := range results.Failed() {
		fmt.Println("not warned:", r.SessionID, r.StatusCode, r.Reason())
	}
	delivered, err := srv.Delivered(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("delivered to", len(delivered), "session:", delivered[0].SessionID)
	faults, err := srv.Faults(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("rule", faults[0].ID, "acted", faults[0].Hits, "time")
	// Output:
	// not warned: 2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f 504 The Horizon Agent did not answer in time.
	// delivered to 1 session: 7cdd624f-37d1-46c1-ab96-695a5d13956f
	// rule 1 acted 1 time
}

// A fault rule added at run time: the server delivers the message, then
// closes the connection without an answer. The automation sees an error; the
// record shows the users got the message once, under that rule, so the
// automation was right not to send it again.
func Example_answerLost() {
	srv, err := refservertest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx := context.Background()
	once := int32(1)
	rule, err := srv.AddFault(ctx, refservertest.Rule(model.CloseAfterActingFaultRule{
		Operation: model.FaultOperationSendMessageToSessions,
		Times:     &once,
	}))
	if err != nil {
		panic(err)
	}

	_, err = warnPool(ctx, srv.Client, "pool-finance", "This desktop restarts at 18:00.")
	var apiErr *client.APIError
	fmt.Println("the automation failed:", err != nil, "with an answer:", errors.As(err, &apiErr))

	delivered, err := srv.Delivered(ctx)
	if err != nil {
		panic(err)
	}
	for _, m := range delivered {
		fmt.Println(m.SessionID, "under rule", *m.FaultID == rule.ID)
	}
	// Output:
	// the automation failed: true with an answer: false
	// 7cdd624f-37d1-46c1-ab96-695a5d13956f under rule true
	// 2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f under rule true
}
