package conformance

import (
	"context"
	"net/http"
	"strings"
)

// The contract's operations that the checks run.
const (
	opLogin   = "login"
	opRefresh = "refreshAccessToken"
	opLogout  = "logout"
	opList    = "listSessions"
	opGet     = "getSession"
	opSend    = "sendMessageToSessions"
)

// Paths of the operations, relative to the base URL.
const (
	pathLogin    = "/login"
	pathRefresh  = "/refresh"
	pathLogout   = "/logout"
	pathSessions = "/inventory/v1/sessions"
	pathSend     = "/inventory/v1/sessions/action/send-message"
)

// tokens reads the tokens of a login or refresh answer.
func tokens(a *answer) (access, refresh string) {
	body, _ := a.json.(map[string]any)
	access, _ = body["access_token"].(string)
	refresh, _ = body["refresh_token"].(string)
	return access, refresh
}

func (r *runner) loginBody(password any) []byte {
	return jsonBody(map[string]any{"username": r.cfg.Login.Username, "password": password, "domain": r.cfg.Login.Domain})
}

// checkLogin logs in; without a login nothing else can be checked.
func (r *runner) checkLogin(ctx context.Context) error {
	c := r.start("log in", opLogin)
	a := c.send(ctx, request{op: opLogin, path: pathLogin, body: r.loginBody(r.cfg.Login.Password)}, http.StatusOK)
	if a != nil {
		r.access, r.refresh = tokens(a)
		r.secrets = append(r.secrets, r.access, r.refresh)
	}
	c.done()
	switch {
	case a == nil:
		return noAnswer("log in at "+r.baseURL, c.err)
	case a.status == http.StatusUnauthorized:
		return cannotRun(`the server refused the login of %s\%s (401): check the user name, the domain and the password`,
			r.cfg.Login.Domain, r.cfg.Login.Username)
	case r.access == "" && a.json == nil && strings.HasPrefix(r.baseURL, "http://"):
		return cannotRun("the login answered %d, and not in JSON, as a server that speaks HTTPS answers plain HTTP: try https://", a.status)
	case r.access == "":
		return cannotRun("the login answered %d without an access token, so nothing else can be checked: %s", a.status, c.res.Differences[0])
	}
	return nil
}

// checkWrongPassword logs in with a password that is surely wrong. It counts
// as one failed login of the account.
func (r *runner) checkWrongPassword(ctx context.Context) {
	c := r.start("log in with a wrong password", opLogin)
	a := c.send(ctx, request{op: opLogin, path: pathLogin, body: r.loginBody("wrong-" + newID())}, http.StatusUnauthorized)
	if a != nil && a.status == http.StatusOK {
		r.logoutQuietly(ctx, a)
	}
	c.done()
}

// checkPasswordArray logs in with the password as an array of strings, as
// clients generated from Horizon 8.0.0's spec send it, and logs that login
// out.
func (r *runner) checkPasswordArray(ctx context.Context) {
	c := r.start("log in, password as an array of strings", opLogin)
	a := c.send(ctx, request{op: opLogin, path: pathLogin, body: r.loginBody([]string{r.cfg.Login.Password})}, http.StatusOK)
	if a != nil && a.status == http.StatusOK {
		if access, refresh := tokens(a); access != "" {
			r.secrets = append(r.secrets, access, refresh)
			r.logout(ctx, c, refresh)
		}
	}
	c.done()
}

// logout ends a login as part of check c.
func (r *runner) logout(ctx context.Context, c *check, refresh string) {
	c.send(ctx, request{op: opLogout, path: pathLogout, body: jsonBody(map[string]string{"refresh_token": refresh})}, http.StatusOK)
}

// logoutQuietly ends a login that a check got by mistake, outside any check.
func (r *runner) logoutQuietly(ctx context.Context, a *answer) {
	access, refresh := tokens(a)
	r.secrets = append(r.secrets, access, refresh)
	if refresh == "" {
		return
	}
	quiet := r.start("", opLogout)
	r.logout(ctx, quiet, refresh)
}

// checkRefreshAndLogout refreshes the access token, logs out, and tries the
// tokens after that: last, since it ends the run's login.
func (r *runner) checkRefreshAndLogout(ctx context.Context) {
	c := r.start("refresh the access token", opRefresh)
	a := c.send(ctx, request{op: opRefresh, path: pathRefresh, body: jsonBody(map[string]string{"refresh_token": r.refresh})}, http.StatusOK)
	var refreshed string
	if a != nil && a.status == http.StatusOK {
		refreshed, _ = tokens(a)
		r.secrets = append(r.secrets, refreshed)
		if refreshed == "" {
			c.differ("%s: no access_token in the answer", opRefresh)
		} else {
			c.send(ctx, r.onePage(refreshed), http.StatusOK)
		}
	}
	c.done()

	c = r.start("refresh with an unknown refresh token", opRefresh)
	c.send(ctx, request{op: opRefresh, path: pathRefresh, body: jsonBody(map[string]string{"refresh_token": "not-a-refresh-token-" + newID()})}, http.StatusBadRequest)
	c.done()

	c = r.start("log out", opLogout)
	r.logout(ctx, c, r.refresh)
	r.loggedOut = true
	c.done()

	c = r.start("access tokens after logout", opList)
	c.send(ctx, r.onePage(r.access), http.StatusUnauthorized)
	if refreshed != "" {
		c.send(ctx, r.onePage(refreshed), http.StatusUnauthorized)
	}
	c.done()

	c = r.start("refresh after logout", opRefresh)
	c.send(ctx, request{op: opRefresh, path: pathRefresh, body: jsonBody(map[string]string{"refresh_token": r.refresh})}, http.StatusBadRequest)
	c.done()
}

// skipAuth reports the checks that need a login as skipped.
func (r *runner) skipAuth(context.Context) {
	for _, name := range []struct{ check, op string }{
		{"log in", opLogin}, {"log in with a wrong password", opLogin}, {"log in, password as an array of strings", opLogin},
		{"refresh the access token", opRefresh}, {"refresh with an unknown refresh token", opRefresh},
		{"log out", opLogout}, {"access tokens after logout", opList}, {"refresh after logout", opRefresh},
	} {
		r.start(name.check, name.op).skip("a token was given instead of a login")
	}
}
