package client

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hzkit/sendmessage/gen/apiclient"
	"github.com/hzkit/sendmessage/gen/model"
)

// MessageType is how Horizon shows the message: as information, a warning or an error.
type MessageType string

// The message types, as Horizon spells them. Each enum constant of this
// package is declared on its own so that go doc shows every value with the
// type; TestEnumConstantsAreTheGenerated holds them to the constants
// generated from the spec.

// MessageInfo shows the message as information.
const MessageInfo MessageType = "INFO"

// MessageWarning shows the message as a warning.
const MessageWarning MessageType = "WARNING"

// MessageError shows the message as an error.
const MessageError MessageType = "ERROR"

// Valid reports whether t is a message type the API accepts.
func (t MessageType) Valid() bool { return model.SessionSendMessageSpecMessageType(t).Valid() }

// restPath is the base path of Horizon's REST API on a Connection Server.
const restPath = "/rest"

// DefaultMaxResponseBytes bounds how much of a response body is read.
const DefaultMaxResponseBytes int64 = 64 << 20

// ErrInvalidInput marks errors caused by the caller's arguments, before any
// request is sent.
var ErrInvalidInput = errors.New("invalid input")

// Client talks to one Connection Server. It is safe for concurrent use.
type Client struct {
	api      *apiclient.Client
	baseURL  string
	now      func() time.Time
	pageSize int32
	token    string   // the static token of token-only mode
	login    *session // nil in token-only mode
}

type settings struct {
	token            string
	httpClient       *http.Client
	userAgent        string
	maxResponseBytes int64
	rootCAs          *x509.CertPool
	insecure         bool
	refreshInterval  time.Duration
	now              func() time.Time
	pageSize         int32
}

// Option configures a Client. Options reject bad values with an error from New.
type Option func(*settings) error

// WithToken sets the bearer access token sent with every request.
func WithToken(token string) Option {
	return func(s *settings) error {
		if strings.TrimSpace(token) == "" {
			return fmt.Errorf("%w: WithToken: empty token", ErrInvalidInput)
		}
		if strings.ContainsAny(token, " \t\r\n") {
			return fmt.Errorf("%w: WithToken: token contains white space", ErrInvalidInput)
		}
		s.token = token
		return nil
	}
}

// WithHTTPClient sets the HTTP client, for timeouts, TLS settings or proxies.
// The default is a client with no timeout of its own: bound calls with the context.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return fmt.Errorf("%w: WithHTTPClient: nil client", ErrInvalidInput)
		}
		s.httpClient = hc
		return nil
	}
}

// WithPageSize sets how many sessions ListSessions and Sessions ask for per
// page. The default is the most the API allows.
func WithPageSize(n int) Option {
	return func(s *settings) error {
		if n <= 0 || n > math.MaxInt32 {
			return fmt.Errorf("%w: WithPageSize: %d is not a positive page size", ErrInvalidInput, n)
		}
		s.pageSize = int32(n)
		return nil
	}
}

// WithClock sets the clock that decides when to refresh the access token;
// the default is time.Now. It is meant for tests.
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return fmt.Errorf("%w: WithClock: nil clock", ErrInvalidInput)
		}
		s.now = now
		return nil
	}
}

// DefaultUserAgent is the User-Agent header unless WithUserAgent sets
// another: the module's name and the version of the contract it was
// generated from (info.version of api/openapi.yaml).
const DefaultUserAgent = "hzkit-sendmessage/" + model.SpecVersion

// WithUserAgent sets the User-Agent header; the default is DefaultUserAgent.
func WithUserAgent(userAgent string) Option {
	return func(s *settings) error {
		if strings.TrimSpace(userAgent) == "" {
			return fmt.Errorf("%w: WithUserAgent: empty user agent", ErrInvalidInput)
		}
		s.userAgent = userAgent
		return nil
	}
}

// WithMaxResponseBytes bounds how much of a response body the client reads;
// a longer body fails the call with ErrResponseTooLarge.
func WithMaxResponseBytes(n int64) Option {
	return func(s *settings) error {
		if n <= 0 {
			return fmt.Errorf("%w: WithMaxResponseBytes: %d is not positive", ErrInvalidInput, n)
		}
		s.maxResponseBytes = n
		return nil
	}
}

// New returns a client for the Connection Server at baseURL, such as
// "https://horizon.example.com", that sends the token of WithToken, if any.
// To log in with a user name and password, use Login. The API's base path
// /rest is appended unless baseURL already ends with it.
func New(baseURL string, opts ...Option) (*Client, error) {
	c, _, err := newClient(baseURL, opts)
	return c, err
}

func newClient(baseURL string, opts []Option) (*Client, settings, error) {
	apiURL, err := normalizeBaseURL(baseURL)
	if err != nil {
		return nil, settings{}, err
	}
	s := settings{
		userAgent:        DefaultUserAgent,
		maxResponseBytes: DefaultMaxResponseBytes,
		refreshInterval:  DefaultRefreshInterval,
		now:              time.Now,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, s, fmt.Errorf("%w: nil option", ErrInvalidInput)
		}
		if err := opt(&s); err != nil {
			return nil, s, err
		}
	}
	httpClient, err := s.buildHTTPClient()
	if err != nil {
		return nil, s, err
	}
	switch {
	case s.pageSize == 0:
		s.pageSize = maxPageSize
	case s.pageSize > maxPageSize:
		return nil, s, fmt.Errorf("%w: WithPageSize: %d is over the API's maximum of %d", ErrInvalidInput, s.pageSize, maxPageSize)
	}
	api, err := apiclient.NewClient(apiURL,
		apiclient.WithHTTPClient(limitedDoer{client: httpClient, max: s.maxResponseBytes}),
		apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("User-Agent", s.userAgent)
			req.Header.Set("Accept", "application/json")
			return nil
		}),
	)
	if err != nil {
		return nil, s, fmt.Errorf("client: %w", err)
	}
	return &Client{api: api, baseURL: apiURL, now: s.now, pageSize: s.pageSize, token: s.token}, s, nil
}

// BaseURL returns the API's base URL, /rest included.
func (c *Client) BaseURL() string { return c.baseURL }

func normalizeBaseURL(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		// url.Parse would read "host:8080" as a scheme, or refuse it with
		// "first path segment in URL cannot contain colon".
		return "", fmt.Errorf("%w: base URL %q has no scheme: begin it with https:// (or http:// for a server without TLS)", ErrInvalidInput, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: base URL: %w", ErrInvalidInput, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w: base URL %q: scheme must be http or https", ErrInvalidInput, raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w: base URL %q has no host", ErrInvalidInput, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: base URL %q must not carry a query, fragment or credentials", ErrInvalidInput, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(u.Path, restPath) {
		u.Path += restPath
	}
	u.RawPath = ""
	return u.String(), nil
}
