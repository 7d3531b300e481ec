package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/hzkit/sendmessage/client"
)

func ExampleLogin() {
	// In production: the Connection Server's address, such as https://horizon.example.com
	// (with client.WithCACertFile if its certificate is self-signed), and the password
	// from a prompt or a secret store.
	baseURL := startStandIn("7cdd624f-37d1-46c1-ab96-695a5d13956f", "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f")
	password := standInPassword

	if err := warnPool(context.Background(), baseURL, password, "pool-finance"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// warned 2 of 2 sessions
}

// warnPool warns the users of the connected sessions of a desktop pool. Its
// body is the example of the package documentation, word for word
// (TestPackageDocIsWarnPool).
func warnPool(ctx context.Context, baseURL, password, pool string) error {
	c, err := client.Login(ctx, baseURL,
		client.Credentials{Username: "administrator", Password: password, Domain: "EXAMPLE"})
	if err != nil {
		return err
	}
	defer c.Close(ctx) // logs out

	sessions, err := c.ListSessions(ctx, client.And(
		client.Equals("desktop_pool_id", pool),
		client.Equals("session_state", client.SessionConnected)))
	if err != nil {
		return err
	}
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		// A server that ignores the filter (Horizon 8.0.0 documents none) returns every session.
		if s.DesktopPoolID != pool || s.State != client.SessionConnected {
			return fmt.Errorf("the server did not apply the filter: it returned session %s (%s, %s)", s.ID, s.DesktopPoolID, s.State)
		}
		ids[i] = s.ID
	}
	results, err := c.SendMessage(ctx, client.MessageWarning, "This desktop restarts in 15 minutes.", ids)
	if err != nil {
		return err
	}
	fmt.Printf("warned %d of %d sessions\n", len(results.Delivered()), len(results))
	for _, r := range results.Failed() {
		fmt.Printf("not delivered to %s: %d %s\n", r.SessionID, r.StatusCode, r.Reason())
	}
	return nil
}
