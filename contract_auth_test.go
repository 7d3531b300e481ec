package sendmessage_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

const (
	loginURL   = "/rest/login"
	refreshURL = "/rest/refresh"
	logoutURL  = "/rest/logout"
	seedSend   = `{"message":"m","message_type":"INFO","session_ids":["` + seedSessionID + `"]}`
)

var jsonBody = []string{"Content-Type", "application/json"}

// sendWith sends the seed request with a bearer token and returns the status.
func (ts *testServer) sendWith(t *testing.T, token string) int {
	t.Helper()
	resp, _ := ts.do(t, http.MethodPost, sendMessageURL, seedSend, "Authorization", "Bearer "+token, "Content-Type", "application/json")
	return resp.StatusCode
}

func TestLoginContract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body    string
		wantStatus    int
		wantInMessage string
	}{
		{"the spec's example", `{"username":"administrator","password":"Example-Passw0rd","domain":"EXAMPLE"}`, 200, ""},
		{"password as an array of characters", `{"username":"administrator","password":["E","x","a","m","p","l","e","-","P","a","s","s","w","0","r","d"],"domain":"EXAMPLE"}`, 200, ""},
		{"password as an array of one string", `{"username":"administrator","password":["Example-Passw0rd"],"domain":"EXAMPLE"}`, 200, ""},
		{"wrong password", `{"username":"administrator","password":"example-passw0rd","domain":"EXAMPLE"}`, 401, "invalid user name, domain or password"},
		{"unknown domain", `{"username":"administrator","password":"Example-Passw0rd","domain":"OTHER"}`, 401, "invalid user name, domain or password"},
		{"UPN user name", `{"username":"administrator@example.com","password":"Example-Passw0rd","domain":"EXAMPLE"}`, 400, "/username: UPN-style user names (user@domain) are not supported"},
		{"name instead of username", `{"name":"administrator","password":"Example-Passw0rd","domain":"EXAMPLE"}`, 400, `property "username" is missing`},
		{"no domain", `{"username":"administrator","password":"Example-Passw0rd"}`, 400, `property "domain" is missing`},
		{"password an object", `{"username":"administrator","password":{"value":"x"},"domain":"EXAMPLE"}`, 400, "/password: value must be a string, or value must be an array"},
		{"password array of numbers", `{"username":"administrator","password":[1,2],"domain":"EXAMPLE"}`, 400, "/password"},
		{"empty body", ``, 400, "request body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t)
			resp, body := ts.do(t, http.MethodPost, loginURL, tt.body, jsonBody...)
			if tt.wantStatus != http.StatusOK {
				assertError(t, resp, body, tt.wantStatus, tt.wantInMessage)
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var tokens model.AuthTokens
			mustUnmarshal(t, body, &tokens)
			if got := ts.sendWith(t, tokens.AccessToken); got != http.StatusOK {
				t.Errorf("the access token gets %d", got)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

func TestRefreshAndLogoutContract(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tokens := ts.login(t)
	refreshBody := `{"refresh_token":"` + tokens.RefreshToken + `"}`

	resp, body := ts.do(t, http.MethodPost, refreshURL, refreshBody, jsonBody...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	var refreshed model.AccessToken
	mustUnmarshal(t, body, &refreshed)
	for name, token := range map[string]string{"first": tokens.AccessToken, "refreshed": refreshed.AccessToken} {
		if got := ts.sendWith(t, token); got != http.StatusOK {
			t.Errorf("%s access token before logout: %d", name, got)
		}
	}

	if resp, body := ts.do(t, http.MethodPost, logoutURL, refreshBody, jsonBody...); resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("logout: %d %q, want 200 without a body", resp.StatusCode, body)
	}
	for _, token := range []string{tokens.AccessToken, refreshed.AccessToken} {
		resp, body := ts.do(t, http.MethodPost, sendMessageURL, seedSend, "Authorization", "Bearer "+token, "Content-Type", "application/json")
		assertError(t, resp, body, http.StatusUnauthorized, "invalid bearer token")
	}
	// Horizon 8.0.0 answers 400, not 401, for a refresh token that no longer works.
	for _, path := range []string{refreshURL, logoutURL} {
		resp, body := ts.do(t, http.MethodPost, path, refreshBody, jsonBody...)
		assertErrorKey(t, resp, body, http.StatusBadRequest, "refresh.token.logged.out", "refresh token is logged out: log in again")
	}
	// The static token was never part of the login.
	if got := ts.sendWith(t, testToken); got != http.StatusOK {
		t.Errorf("static token after logout: %d", got)
	}
	// Nothing sent with a refused token was delivered: one delivery per accepted send.
	if got := len(ts.delivered(t)); got != 3 {
		t.Errorf("%d deliveries, want 3", got)
	}
}

func TestRefreshAndLogoutRefuseMalformedRequests(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tests := []struct {
		name, body    string
		wantStatus    int
		wantInMessage string
	}{
		{"no refresh token", `{}`, 400, `property "refresh_token" is missing`},
		{"refresh token a number", `{"refresh_token":7}`, 400, "/refresh_token: value must be a string"},
		{"empty refresh token", `{"refresh_token":""}`, 400, "/refresh_token: minimum string length is 1"},
		{"unknown refresh token", `{"refresh_token":"nope"}`, 400, "unknown refresh token: log in for a new one"},
		{"the static token", `{"refresh_token":"` + testToken + `"}`, 400, "unknown refresh token: log in for a new one"},
	}
	for _, path := range []string{refreshURL, logoutURL} {
		for _, tt := range tests {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				resp, body := ts.do(t, http.MethodPost, path, tt.body, jsonBody...)
				assertError(t, resp, body, tt.wantStatus, tt.wantInMessage)
			})
		}
	}
}

// Expiry follows the server's clock: no waiting.
func TestTokensExpire(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tokens := ts.login(t)
	refreshBody := `{"refresh_token":"` + tokens.RefreshToken + `"}`

	ts.Clock.Advance(server.DefaultAccessTokenTTL - time.Second)
	if got := ts.sendWith(t, tokens.AccessToken); got != http.StatusOK {
		t.Errorf("a second before expiry: %d", got)
	}
	ts.Clock.Advance(time.Second)
	resp, body := ts.do(t, http.MethodPost, sendMessageURL, seedSend, "Authorization", "Bearer "+tokens.AccessToken, "Content-Type", "application/json")
	assertError(t, resp, body, http.StatusUnauthorized, "access token has expired")

	resp, body = ts.do(t, http.MethodPost, refreshURL, refreshBody, jsonBody...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh after the access token expired: %d %s", resp.StatusCode, body)
	}
	ts.Clock.Advance(server.DefaultRefreshTokenTTL)
	for _, path := range []string{refreshURL, logoutURL} {
		resp, body = ts.do(t, http.MethodPost, path, refreshBody, jsonBody...)
		assertErrorKey(t, resp, body, http.StatusBadRequest, "refresh.token.expired", "refresh token has expired: log in again")
	}
}

// assertErrorKey is assertError that also checks the answer's error_key.
func assertErrorKey(t *testing.T, resp answer, body []byte, wantStatus int, wantKey, wantInMessage string) {
	t.Helper()
	assertError(t, resp, body, wantStatus, wantInMessage)
	var e model.ErrorResponse
	mustUnmarshal(t, body, &e)
	if len(e.Errors) != 1 || e.Errors[0].ErrorKey != wantKey {
		t.Errorf("errors = %+v, want one with error_key %q", e.Errors, wantKey)
	}
}

// Horizon 8.0.0 declares 200, 400 and 500 for refresh and logout, and 401
// for login only: the spec says the same, and says nothing else for them.
func TestAuthStatusesAreHorizon800s(t *testing.T) {
	t.Parallel()
	doc := spectest.Load(t).Doc()
	for path, wantUnauthorized := range map[string]bool{"/login": true, "/refresh": false, "/logout": false} {
		op := doc.Paths.Find(path).Post
		for _, status := range []string{"200", "400", "500"} {
			if op.Responses.Value(status) == nil {
				t.Errorf("%s declares no %s", path, status)
			}
		}
		if got := op.Responses.Value("401") != nil; got != wantUnauthorized {
			t.Errorf("%s declares 401: %v, want %v", path, got, wantUnauthorized)
		}
	}
}
