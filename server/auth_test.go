package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/fakeclock"
	"github.com/hzkit/sendmessage/server"
)

func loginBody(t *testing.T, username string, password any, domain string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"username": username, "password": password, "domain": domain})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func refreshBody(token string) string { return `{"refresh_token":"` + token + `"}` }

// login logs the test user in and returns the tokens.
func (ts *testServer) login(t *testing.T) model.AuthTokens {
	t.Helper()
	resp := ts.do(t, ts.request(t, http.MethodPost, loginPath, "", loginBody(t, testUser, testPassword, testDomain)))
	if resp.status != http.StatusOK {
		t.Fatalf("login: status %d, body %s", resp.status, resp.body)
	}
	return decodeStrict[model.AuthTokens](t, resp.body)
}

// statusWith is the status of a protected operation called with token.
func (ts *testServer) statusWith(t *testing.T, token string) int {
	t.Helper()
	return ts.do(t, ts.request(t, http.MethodGet, sessionsPath, "Bearer "+token, "")).status
}

// claims decodes the payload of a JWT without checking its signature.
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

func TestLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		username, domain string
		password         any
		wantStatus       int
		wantInMessage    string
	}{
		{"password as a string", testUser, testDomain, testPassword, 200, ""},
		{"password as Horizon 8.0.0's char array", testUser, testDomain, strings.Split(testPassword, ""), 200, ""},
		{"password as a one-element array", testUser, testDomain, []string{testPassword}, 200, ""},
		{"names in another case", strings.ToUpper(testUser), strings.ToLower(testDomain), testPassword, 200, ""},
		{"wrong password", testUser, testDomain, testPassword + "x", 401, "invalid user name, domain or password"},
		{"password in another case", testUser, testDomain, strings.ToUpper(testPassword), 401, "invalid user name, domain or password"},
		{"wrong domain", testUser, "OTHER", testPassword, 401, "invalid user name, domain or password"},
		{"unknown user", "nobody", testDomain, testPassword, 401, "invalid user name, domain or password"},
		{"UPN user name", testUser + "@testlab.example", testDomain, testPassword, 400, "/username: UPN-style user names (user@domain) are not supported"},
		{"empty user name", "", testDomain, testPassword, 400, "/username: minimum string length is 1"},
		{"empty domain", testUser, "", testPassword, 400, "/domain: minimum string length is 1"},
		{"empty password", testUser, testDomain, "", 400, "/password"},
		{"empty password array", testUser, testDomain, []string{}, 400, "/password"},
		{"password a number", testUser, testDomain, 42, 400, "/password: value must be a string, or value must be an array"},
		// The spec's maxLength, before the body's 4 KiB.
		{"user name too long", strings.Repeat("u", model.AuthLoginUsernameMaxLength+1), testDomain, testPassword, 400, "/username: maximum string length is 256"},
		{"domain too long", testUser, strings.Repeat("d", model.AuthLoginDomainMaxLength+1), testPassword, 400, "/domain: maximum string length is 256"},
		{"password too long", testUser, testDomain, strings.Repeat("p", 1025), 400, "/password: maximum string length is 1024"},
		{"password array item too long", testUser, testDomain, []string{strings.Repeat("p", 1025)}, 400, "/password/0: maximum string length is 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log syncBuffer
			srv := newTestServer(t, server.Config{Logger: jsonLogger(&log)})
			resp := srv.do(t, srv.request(t, http.MethodPost, loginPath, "", loginBody(t, tt.username, tt.password, tt.domain)))
			if tt.wantStatus != http.StatusOK {
				wantError(t, resp, tt.wantStatus, tt.wantInMessage)
			} else {
				if resp.status != http.StatusOK {
					t.Fatalf("status %d, body %s", resp.status, resp.body)
				}
				tokens := decodeStrict[model.AuthTokens](t, resp.body)
				if got := srv.statusWith(t, tokens.AccessToken); got != http.StatusOK {
					t.Errorf("the new access token gets %d", got)
				}
				if got := resp.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
			}
			if strings.Contains(string(resp.body), testPassword) {
				t.Errorf("the answer holds the password: %s", resp.body)
			}
			if strings.Contains(log.String(), testPassword) {
				t.Errorf("the log holds the password:\n%s", log.String())
			}
		})
	}
}

func TestLoginRequestsMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"name instead of username", `{"name":"operator","password":"p","domain":"TESTLAB"}`, `property "username" is missing`},
		{"no domain", `{"username":"operator","password":"p"}`, `property "domain" is missing`},
		{"no password", `{"username":"operator","domain":"TESTLAB"}`, `property "password" is missing`},
		{"not an object", `"operator"`, "request body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, server.Config{})
			wantError(t, srv.do(t, srv.request(t, http.MethodPost, loginPath, "", tt.body)), http.StatusBadRequest, tt.want)
		})
	}
}

func TestTokensAreJWTsThatSayWhenTheyExpire(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := newTestServer(t, server.Config{Now: clock.Now, AccessTokenTTL: 10 * time.Minute, RefreshTokenTTL: time.Hour})
	tokens := srv.login(t)
	tests := []struct {
		name  string
		token string
		ttl   time.Duration
	}{
		{"access", tokens.AccessToken, 10 * time.Minute},
		{"refresh", tokens.RefreshToken, time.Hour},
	}
	for _, tt := range tests {
		c := claims(t, tt.token)
		iat, _ := c["iat"].(float64)
		exp, _ := c["exp"].(float64)
		if int64(iat) != clock.Now().Unix() || time.Duration(exp-iat)*time.Second != tt.ttl {
			t.Errorf("%s token claims %v: want iat %d and exp %s later", tt.name, c, clock.Now().Unix(), tt.ttl)
		}
		if c["sub"] != testDomain+`\`+testUser {
			t.Errorf("%s token sub = %v", tt.name, c["sub"])
		}
	}
	if tokens.AccessToken == tokens.RefreshToken {
		t.Error("access and refresh tokens are the same")
	}
}

// TestTokenLifecycle walks one login through time on a fake clock.
func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	const accessTTL, refreshTTL = 30 * time.Minute, 2 * time.Hour
	type step struct {
		do      string // advance, refresh, logout, check
		advance time.Duration
		want    map[string]int // token name -> status
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"access token works until it expires", []step{
			{do: "check", want: map[string]int{"access": 200}},
			{do: "advance", advance: accessTTL - time.Second},
			{do: "check", want: map[string]int{"access": 200}},
			{do: "advance", advance: time.Second},
			{do: "check", want: map[string]int{"access": 401}},
		}},
		{"refresh gives a new access token; the old one lives on", []step{
			{do: "advance", advance: 20 * time.Minute},
			{do: "refresh", want: map[string]int{"refresh": 200}},
			{do: "advance", advance: 15 * time.Minute},
			{do: "check", want: map[string]int{"access": 401, "refreshed": 200}},
		}},
		{"no token outlives the refresh token", []step{
			{do: "advance", advance: refreshTTL - 10*time.Minute},
			{do: "refresh", want: map[string]int{"refresh": 200}},
			{do: "advance", advance: 10 * time.Minute},
			{do: "check", want: map[string]int{"refreshed": 401}},
			{do: "refresh", want: map[string]int{"refresh": 400}},
		}},
		{"logout revokes every token of the login", []step{
			{do: "refresh", want: map[string]int{"refresh": 200}},
			{do: "logout", want: map[string]int{"logout": 200}},
			{do: "check", want: map[string]int{"access": 401, "refreshed": 401}},
			{do: "refresh", want: map[string]int{"refresh": 400}},
			{do: "logout", want: map[string]int{"logout": 400}},
		}},
		{"expired logins are swept, and fresh ones still work", []step{
			{do: "advance", advance: refreshTTL + time.Hour},
			{do: "relogin"},
			{do: "check", want: map[string]int{"access": 200}},
			{do: "refresh", want: map[string]int{"refresh": 200}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			srv := newTestServer(t, server.Config{Now: clock.Now, AccessTokenTTL: accessTTL, RefreshTokenTTL: refreshTTL})
			tokens := srv.login(t)
			var refreshed string
			for i, s := range tt.steps {
				got := map[string]int{}
				switch s.do {
				case "advance":
					clock.Advance(s.advance)
				case "relogin":
					tokens = srv.login(t)
				case "refresh":
					resp := srv.do(t, srv.request(t, http.MethodPost, refreshPath, "", refreshBody(tokens.RefreshToken)))
					got["refresh"] = resp.status
					if resp.status == http.StatusOK {
						refreshed = decodeStrict[model.AccessToken](t, resp.body).AccessToken
						if resp.header.Get("Cache-Control") != "no-store" {
							t.Errorf("step %d: refresh answer may be cached", i)
						}
					}
				case "logout":
					got["logout"] = srv.do(t, srv.request(t, http.MethodPost, logoutPath, "", refreshBody(tokens.RefreshToken))).status
				case "check":
					for name := range s.want {
						token := map[string]string{"access": tokens.AccessToken, "refreshed": refreshed}[name]
						got[name] = srv.statusWith(t, token)
					}
				}
				for name, want := range s.want {
					if got[name] != want {
						t.Errorf("step %d (%s): %s got %d, want %d", i, s.do, name, got[name], want)
					}
				}
			}
			// The static token is not part of any login.
			if got := srv.statusWith(t, testToken); got != http.StatusOK {
				t.Errorf("static token: %d, want 200", got)
			}
		})
	}
}

func TestExpiredAccessTokenIsNamed(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := newTestServer(t, server.Config{Now: clock.Now})
	tokens := srv.login(t)
	clock.Advance(server.DefaultAccessTokenTTL)
	resp := srv.do(t, srv.request(t, http.MethodGet, sessionsPath, "Bearer "+tokens.AccessToken, ""))
	wantError(t, resp, http.StatusUnauthorized, "access token has expired")
}

// Refresh and logout answer 400 for a refresh token that does not work, as
// Horizon 8.0.0 declares, never 401; the answer says which way it does not
// work, in error_message and error_key.
func TestRefreshAndLogoutRefuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   func(t *testing.T, srv *testServer, clock *fakeclock.Clock) string // the refresh token to send
		key     string
		message string
	}{
		{"unknown refresh token", func(*testing.T, *testServer, *fakeclock.Clock) string { return "nope" },
			"refresh.token.unknown", "unknown refresh token: log in for a new one"},
		{"an access token instead", func(t *testing.T, srv *testServer, _ *fakeclock.Clock) string {
			t.Helper()
			return srv.login(t).AccessToken
		},
			"refresh.token.unknown", "unknown refresh token"},
		{"the static token", func(*testing.T, *testServer, *fakeclock.Clock) string { return testToken },
			"refresh.token.unknown", "unknown refresh token"},
		{"another server's refresh token", func(t *testing.T, _ *testServer, _ *fakeclock.Clock) string {
			t.Helper()
			return newTestServer(t, server.Config{}).login(t).RefreshToken
		}, "refresh.token.unknown", "unknown refresh token"},
		{"expired", func(t *testing.T, srv *testServer, clock *fakeclock.Clock) string {
			t.Helper()
			refresh := srv.login(t).RefreshToken
			clock.Advance(server.DefaultRefreshTokenTTL)
			return refresh
		}, "refresh.token.expired", "refresh token has expired: log in again"},
		{"expired long ago, and forgotten", func(t *testing.T, srv *testServer, clock *fakeclock.Clock) string {
			t.Helper()
			refresh := srv.login(t).RefreshToken
			clock.Advance(server.DefaultRefreshTokenTTL + time.Hour)
			srv.login(t) // sweeps the expired login
			return refresh
		}, "refresh.token.expired", "refresh token has expired"},
		{"logged out", func(t *testing.T, srv *testServer, _ *fakeclock.Clock) string {
			t.Helper()
			refresh := srv.login(t).RefreshToken
			if got := srv.do(t, srv.request(t, http.MethodPost, logoutPath, "", refreshBody(refresh))).status; got != http.StatusOK {
				t.Fatalf("logout: %d", got)
			}
			return refresh
		}, "refresh.token.logged.out", "refresh token is logged out: log in again"},
	}
	for _, path := range []string{refreshPath, logoutPath} {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				clock := newFakeClock()
				srv := newTestServer(t, server.Config{Now: clock.Now})
				resp := srv.do(t, srv.request(t, http.MethodPost, path, "", refreshBody(tt.token(t, srv, clock))))
				e := wantError(t, resp, http.StatusBadRequest, tt.message)
				if e.Errors[0].ErrorKey != tt.key {
					t.Errorf("error_key %q, want %q", e.Errors[0].ErrorKey, tt.key)
				}
				if resp.header.Get("WWW-Authenticate") != "" {
					t.Errorf("a 400 with WWW-Authenticate: %q", resp.header.Get("WWW-Authenticate"))
				}
			})
		}
	}
	// A body that breaks the spec is a 400 too, of its own kind.
	for _, path := range []string{refreshPath, logoutPath} {
		for _, tt := range []struct{ body, want string }{
			{refreshBody(""), "/refresh_token: minimum string length is 1"},
			{`{}`, `property "refresh_token" is missing`},
			{refreshBody(strings.Repeat("t", model.RefreshTokenRefreshTokenMaxLength+1)), "/refresh_token: maximum string length is 4096"},
		} {
			// A body larger than the default 4 KiB, to reach maxLength.
			srv := newTestServer(t, server.Config{Limits: server.Limits{MaxAuthBodyBytes: 8 << 10}})
			e := wantError(t, srv.do(t, srv.request(t, http.MethodPost, path, "", tt.body)), http.StatusBadRequest, tt.want)
			if e.Errors[0].ErrorKey != "bad.request" {
				t.Errorf("%s %s: error_key %q, want bad.request", path, tt.body, e.Errors[0].ErrorKey)
			}
		}
	}
}

func TestServerNeedsATokenOrUsers(t *testing.T) {
	t.Parallel()
	if _, err := server.New(server.Config{Users: []model.ReferenceUser{{Username: "u", Domain: "d", Password: "p"}}}); err != nil {
		t.Errorf("New with users only: %v", err)
	}
	dup := []model.ReferenceUser{{Username: "u", Domain: "d", Password: "p"}, {Username: "U", Domain: "D", Password: "q"}}
	if _, err := server.New(server.Config{Users: dup}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("New with a user given twice: %v, want an error", err)
	}
	if _, err := server.New(server.Config{Token: "t", AccessTokenTTL: -time.Second}); err == nil {
		t.Error("New accepted a negative token lifetime")
	}
}

// Passwords and tokens never reach the log, whatever the request.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	clock := newFakeClock()
	srv := newTestServer(t, server.Config{Logger: jsonLogger(&log), Now: clock.Now})
	tokens := srv.login(t)
	srv.do(t, srv.request(t, http.MethodPost, loginPath, "", loginBody(t, testUser, testPassword+"-wrong", testDomain)))
	srv.do(t, srv.request(t, http.MethodPost, refreshPath, "", refreshBody(tokens.RefreshToken)))
	srv.statusWith(t, tokens.AccessToken)
	srv.do(t, srv.request(t, http.MethodPost, logoutPath, "", refreshBody(tokens.RefreshToken)))
	srv.statusWith(t, tokens.AccessToken)
	clock.Advance(time.Hour)
	srv.do(t, srv.request(t, http.MethodPost, refreshPath, "", refreshBody(tokens.RefreshToken)))

	logged := log.String()
	if n := len(accessLines(t, logged)); n != 7 {
		t.Fatalf("%d access log lines, want 7:\n%s", n, logged)
	}
	for _, secret := range []string{testPassword, tokens.AccessToken, tokens.RefreshToken, testToken} {
		if strings.Contains(logged, secret) {
			t.Errorf("the log holds a secret %.12s...:\n%s", secret, logged)
		}
	}
}
