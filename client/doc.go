// Package client is the Go client for Horizon's Send Message To Sessions
// operation and the calls around it: login, token refresh and logout, and
// listing sessions. It works against a VMware Horizon Connection Server and
// against this module's reference server alike.
//
// To warn the users of the connected sessions of a desktop pool, where
// baseURL is the Connection Server's address, such as
// "https://horizon.example.com":
//
//	c, err := client.Login(ctx, baseURL,
//		client.Credentials{Username: "administrator", Password: password, Domain: "EXAMPLE"})
//	if err != nil {
//		return err
//	}
//	defer c.Close(ctx) // logs out
//
//	sessions, err := c.ListSessions(ctx, client.And(
//		client.Equals("desktop_pool_id", pool),
//		client.Equals("session_state", client.SessionConnected)))
//	if err != nil {
//		return err
//	}
//	ids := make([]string, len(sessions))
//	for i, s := range sessions {
//		// A server that ignores the filter (Horizon 8.0.0 documents none) returns every session.
//		if s.DesktopPoolID != pool || s.State != client.SessionConnected {
//			return fmt.Errorf("the server did not apply the filter: it returned session %s (%s, %s)", s.ID, s.DesktopPoolID, s.State)
//		}
//		ids[i] = s.ID
//	}
//	results, err := c.SendMessage(ctx, client.MessageWarning, "This desktop restarts in 15 minutes.", ids)
//	if err != nil {
//		return err
//	}
//	fmt.Printf("warned %d of %d sessions\n", len(results.Delivered()), len(results))
//	for _, r := range results.Failed() {
//		fmt.Printf("not delivered to %s: %d %s\n", r.SessionID, r.StatusCode, r.Reason())
//	}
//
// This is the body of the warnPool function of ExampleLogin, which runs
// with the package's tests.
//
// # Errors
//
// Arguments the client can tell are wrong, before any request, give an error
// that wraps ErrInvalidInput. An answer other than 200 is an *APIError with
// the status, the server's reasons and error keys, and its Retry-After. A
// send that the server answered gives one Result per session, delivered or
// not: check Results.Failed.
//
// # Retries
//
// The client sends each request once. The one exception: when a client
// from Login gets 401 (the server refused the access token and did not act),
// it logs in again and sends the request a second time. It refreshes the
// access token before it expires, and logs in again when the refresh token
// is refused. A connection failure, a timeout, 429 or 5xx is returned to the
// caller, who knows whether the request is safe to repeat: listing always
// is; sending the message again after a 500, 502, 504 or an answer lost on
// the way may show it twice. The sendmsg command (client/cmd/sendmsg) shows
// one policy.
package client
