package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/model"
)

// failing answers login with tokens and every other request with status,
// and counts the requests by method and path.
type failing struct {
	mu       sync.Mutex
	requests map[string]int
}

func startFailing(t *testing.T, status int, loginToo bool) (*failing, string) {
	t.Helper()
	f := &failing{requests: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests[r.Method+" "+r.URL.Path]++
		f.mu.Unlock()
		if r.URL.Path == "/rest/login" && !loginToo {
			writeJSON(w, http.StatusOK, model.AuthTokens{AccessToken: "a", RefreshToken: "r"})
			return
		}
		w.Header().Set("Retry-After", "1")
		writeJSON(w, status, model.ErrorResponse{ErrorMessage: http.StatusText(status)})
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *failing) count(request string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[request]
}

// What each method's comment says: the client sends each request once, and
// returns the failure; it never repeats one on 429, 5xx or Retry-After.
func TestNoMethodRetriesAFailure(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f, url := startFailing(t, status, false)
			c, err := client.Login(ctx, url, creds)
			if err != nil {
				t.Fatal(err)
			}
			calls := map[string]func() error{
				"POST /rest/inventory/v1/sessions/action/send-message": func() error {
					_, err := c.SendMessage(ctx, client.MessageInfo, "x", []string{"s1"})
					return err
				},
				"GET /rest/inventory/v1/sessions": func() error {
					_, err := c.ListSessions(ctx, client.Filter{})
					return err
				},
				"GET /rest/inventory/v1/sessions/s1": func() error {
					_, err := c.GetSession(ctx, "s1")
					return err
				},
				"POST /rest/logout": func() error { return c.Close(ctx) },
			}
			for _, request := range []string{"POST /rest/inventory/v1/sessions/action/send-message", "GET /rest/inventory/v1/sessions", "GET /rest/inventory/v1/sessions/s1", "POST /rest/logout"} {
				var apiErr *client.APIError
				if err := calls[request](); !errors.As(err, &apiErr) || apiErr.StatusCode != status {
					t.Errorf("%s: err = %v, want the %d", request, err, status)
				}
				if n := f.count(request); n != 1 {
					t.Errorf("%s: sent %d times, want once", request, n)
				}
			}

			g, url := startFailing(t, status, true)
			if _, err := client.Login(ctx, url, creds); err == nil {
				t.Error("Login succeeded")
			}
			if n := g.count("POST /rest/login"); n != 1 {
				t.Errorf("login: sent %d times, want once", n)
			}
		})
	}
}
