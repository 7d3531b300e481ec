package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/hzkit/sendmessage/client"
)

func Example() {
	// In production: the Connection Server's address, e.g. https://horizon.example.com.
	serverURL := startStandIn("7cdd624f-37d1-46c1-ab96-695a5d13956f")

	c, err := client.New(serverURL, client.WithToken(standInToken))
	if err != nil {
		log.Fatal(err)
	}
	results, err := c.SendMessage(context.Background(), client.MessageWarning,
		"This desktop restarts in 15 minutes. Please save your work.",
		[]string{"7cdd624f-37d1-46c1-ab96-695a5d13956f", "0b0e0f00-0000-4000-8000-000000000000"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("delivered to %d of %d sessions\n", len(results.Delivered()), len(results))
	for _, r := range results.Failed() {
		fmt.Printf("not delivered to %s: %d %s\n", r.SessionID, r.StatusCode, r.Reason())
	}
	// Output:
	// delivered to 1 of 2 sessions
	// not delivered to 0b0e0f00-0000-4000-8000-000000000000: 404 Session 0b0e0f00-0000-4000-8000-000000000000 does not exist.
}

func ExampleClient_ListSessions() {
	serverURL := startStandIn("7cdd624f-37d1-46c1-ab96-695a5d13956f", "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f")

	c, err := client.New(serverURL, client.WithToken(standInToken))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := c.ListSessions(context.Background(), client.And(
		client.Equals("desktop_pool_id", "pool-finance"),
		client.Equals("session_state", client.SessionConnected)))
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range sessions {
		fmt.Printf("%s on %s, %s over %s since %s\n",
			s.ID, s.MachineID, s.State, s.Protocol, s.StartTime.UTC().Format(time.Kitchen))
	}
	// Output:
	// 7cdd624f-37d1-46c1-ab96-695a5d13956f on machine-fin-001, CONNECTED over BLAST since 8:00AM
	// 2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f on machine-fin-002, CONNECTED over BLAST since 8:15AM
}

func ExampleAPIError() {
	serverURL := startStandIn()

	c, err := client.New(serverURL, client.WithToken("expired-token"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.SendMessage(context.Background(), client.MessageInfo, "Hello", []string{"any"})
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Key(), apiErr.Message())
	}
	// Output:
	// 401 unauthorized invalid bearer token
}
