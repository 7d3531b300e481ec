package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hzkit/sendmessage/gen/apiclient"
	"github.com/hzkit/sendmessage/gen/model"
)

// DefaultRefreshInterval is how long an access token is used before it is
// refreshed when the token does not say when it expires: four fifths of the
// 30 minutes that Horizon's API sessions last by default.
const DefaultRefreshInterval = 24 * time.Minute

// ErrClosed is returned by the calls of a client after Close.
var ErrClosed = errors.New("client is closed")

// Credentials are what Horizon's login takes. Username is the bare user name:
// Horizon does not accept the user@domain form. Printing or logging
// Credentials shows DOMAIN\username, never the password.
type Credentials struct {
	Username string
	Password string
	Domain   string
}

// String returns DOMAIN\username.
func (c Credentials) String() string { return c.Domain + `\` + c.Username }

// GoString keeps the password out of %#v.
func (c Credentials) GoString() string {
	return fmt.Sprintf("client.Credentials{Username: %q, Domain: %q, Password: (hidden)}", c.Username, c.Domain)
}

// LogValue keeps the password out of slog.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// WithRefreshInterval sets how long an access token is used before it is
// refreshed when the token does not say when it expires (it says so when it
// is a JWT with iat and exp claims, as Horizon's are).
func WithRefreshInterval(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithRefreshInterval: %s is not positive", ErrInvalidInput, d)
		}
		s.refreshInterval = d
		return nil
	}
}

// session is the state of a login. lock is held for every read or change of
// the fields below it; a channel, so that waiting for it honours a context.
type session struct {
	creds           Credentials
	refreshInterval time.Duration

	lock       chan struct{}
	access     string
	refresh    string
	refreshAt  time.Time
	generation uint64 // counts access tokens, so that one 401 causes one new login
	closed     bool
}

// Login logs in to the Connection Server at baseURL and returns a client
// that uses the login's tokens: it refreshes the access token before it
// expires (and logs in again when the refresh token is refused, with 400 as
// Horizon 8.0.0 answers, or 401), logs in again once when a call is refused
// with 401, and logs out on Close. The password is sent as a plain string.
// Options are New's, except WithToken. The login request is sent once: a
// failure, such as a refused connection or a 503, is returned, not retried.
func Login(ctx context.Context, baseURL string, creds Credentials, opts ...Option) (*Client, error) {
	if creds.Username == "" || creds.Password == "" || creds.Domain == "" {
		return nil, fmt.Errorf("%w: Login: user name, password and domain are all required", ErrInvalidInput)
	}
	c, s, err := newClient(baseURL, opts)
	if err != nil {
		return nil, err
	}
	if s.token != "" {
		return nil, fmt.Errorf("%w: Login gets its own tokens: do not combine it with WithToken", ErrInvalidInput)
	}
	c.login = &session{creds: creds, refreshInterval: s.refreshInterval, lock: make(chan struct{}, 1)}
	if err := c.withSession(ctx, c.logIn); err != nil {
		return nil, err
	}
	return c, nil
}

// Close logs out, ending the login's tokens on the server. When the server
// answers that the login has already ended (400, as Horizon 8.0.0 answers for
// a refresh token that is unknown, expired or logged out, or 401), nothing is
// left to end and Close succeeds. Later calls return ErrClosed; a second
// Close does nothing. In token-only mode Close does nothing. The logout
// request is sent once.
func (c *Client) Close(ctx context.Context) error {
	if c.login == nil {
		return nil
	}
	err := c.withSession(ctx, func(ctx context.Context) error {
		s := c.login
		refresh := s.refresh
		s.closed, s.access, s.refresh = true, "", ""
		resp, err := c.api.Logout(ctx, model.RefreshToken{RefreshToken: refresh})
		if err != nil {
			return fmt.Errorf("log out: %w", err)
		}
		defer func() { _ = resp.Body.Close() }()
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent:
			return nil
		case refreshTokenRefused(resp.StatusCode):
			return nil // the login had already ended: nothing is left to end
		}
		return fmt.Errorf("log out: %w", newAPIError(resp))
	})
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// withSession runs f holding the session's lock; a closed session refuses.
func (c *Client) withSession(ctx context.Context, f func(context.Context) error) error {
	s := c.login
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for the login: %w", ctx.Err())
	}
	defer func() { <-s.lock }()
	if s.closed {
		return ErrClosed
	}
	return f(ctx)
}

// logIn starts a new login. The session's lock must be held.
func (c *Client) logIn(ctx context.Context) error {
	s := c.login
	body := model.AuthLogin{Username: s.creds.Username, Domain: s.creds.Domain}
	if err := body.Password.FromAuthLoginPassword0(s.creds.Password); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	resp, err := c.api.Login(ctx, body)
	if err != nil {
		return fmt.Errorf("log in as %s: %w", s.creds, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("log in as %s: %w", s.creds, newAPIError(resp))
	}
	parsed, err := apiclient.ParseLoginResponse(resp)
	if err != nil {
		return fmt.Errorf("log in as %s: read answer: %w", s.creds, err)
	}
	if parsed.JSON200 == nil || parsed.JSON200.AccessToken == "" || parsed.JSON200.RefreshToken == "" {
		return fmt.Errorf("log in as %s: %s answered 200 without both tokens", s.creds, resp.Request.URL.Redacted())
	}
	s.refresh = parsed.JSON200.RefreshToken
	c.useAccessToken(parsed.JSON200.AccessToken)
	return nil
}

// refreshAccess gets a new access token, or logs in again when the refresh
// token is no longer accepted. The session's lock must be held.
func (c *Client) refreshAccess(ctx context.Context) error {
	resp, err := c.api.RefreshAccessToken(ctx, model.RefreshToken{RefreshToken: c.login.refresh})
	if err != nil {
		return fmt.Errorf("refresh the access token: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch {
	case resp.StatusCode == http.StatusOK:
	case refreshTokenRefused(resp.StatusCode):
		return c.logIn(ctx)
	default:
		return fmt.Errorf("refresh the access token: %w", newAPIError(resp))
	}
	parsed, err := apiclient.ParseRefreshAccessTokenResponse(resp)
	if err != nil {
		return fmt.Errorf("refresh the access token: read answer: %w", err)
	}
	if parsed.JSON200 == nil || parsed.JSON200.AccessToken == "" {
		return fmt.Errorf("refresh the access token: %s answered 200 without a token", resp.Request.URL.Redacted())
	}
	c.useAccessToken(parsed.JSON200.AccessToken)
	return nil
}

// refreshTokenRefused says whether refresh or logout answered that the
// refresh token no longer works: unknown, expired or logged out. Horizon
// 8.0.0 answers 400 for that (its body says which, in no documented form);
// some servers answer 401. The client's own request is always well formed,
// so a 400 cannot be about anything but the token.
func refreshTokenRefused(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusUnauthorized
}

// useAccessToken makes token the one sent, until it is due for refresh. The
// session's lock must be held.
func (c *Client) useAccessToken(token string) {
	s := c.login
	s.access = token
	s.generation++
	s.refreshAt = c.now().Add(refreshAfter(token, s.refreshInterval))
}

// refreshAfter is four fifths of the token's lifetime when the token is a JWT
// that says it (exp - iat, so that the clocks of client and server need not
// agree), else fallback. The token is only read, not verified: the server
// decides whether it is valid.
func refreshAfter(token string, fallback time.Duration) time.Duration {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fallback
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fallback
	}
	var claims struct {
		IssuedAt  int64 `json:"iat"`
		ExpiresAt int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.IssuedAt <= 0 || claims.ExpiresAt <= claims.IssuedAt {
		return fallback
	}
	return time.Duration(claims.ExpiresAt-claims.IssuedAt) * time.Second * 4 / 5
}

// bearer is the access token for the next call, refreshed first when due,
// and the generation it belongs to.
func (c *Client) bearer(ctx context.Context) (string, uint64, error) {
	if c.login == nil {
		return c.token, 0, nil
	}
	var token string
	var generation uint64
	err := c.withSession(ctx, func(ctx context.Context) error {
		if !c.now().Before(c.login.refreshAt) {
			if err := c.refreshAccess(ctx); err != nil {
				return err
			}
		}
		token, generation = c.login.access, c.login.generation
		return nil
	})
	return token, generation, err
}

// call runs one protected API call with the access token. When the server
// refuses the token with 401, it logs in again, once, and repeats the call.
func (c *Client) call(ctx context.Context, do func(context.Context, apiclient.RequestEditorFn) (*http.Response, error)) (*http.Response, error) {
	token, generation, err := c.bearer(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := do(ctx, withBearer(token))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || c.login == nil {
		return resp, err
	}
	_ = resp.Body.Close()
	err = c.withSession(ctx, func(ctx context.Context) error {
		if c.login.generation != generation {
			return nil // another call has logged in again already
		}
		return c.logIn(ctx)
	})
	if err != nil {
		return nil, err
	}
	if token, _, err = c.bearer(ctx); err != nil {
		return nil, err
	}
	return do(ctx, withBearer(token))
}

func withBearer(token string) apiclient.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
}
