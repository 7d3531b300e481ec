// Package client is the Go client for Horizon's Send Message To Sessions
// operation. It works against a VMware Horizon Connection Server and against
// this module's reference server alike.
//
//	c, err := client.New("https://horizon.example.com", client.WithToken(accessToken))
//	results, err := c.SendMessage(ctx, client.MessageWarning, "This desktop restarts in 15 minutes.", ids)
//	for _, r := range results.Failed() {
//		log.Printf("%s: %d %s", r.SessionID, r.StatusCode, r.Reason())
//	}
package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hzkit/sendmessage/gen"
)

// MessageType is how Horizon shows the message: as information, a warning or an error.
type MessageType = gen.SessionSendMessageSpecMessageType

// The message types the API accepts.
const (
	MessageInfo    MessageType = gen.SessionSendMessageSpecMessageTypeINFO
	MessageWarning MessageType = gen.SessionSendMessageSpecMessageTypeWARNING
	MessageError   MessageType = gen.SessionSendMessageSpecMessageTypeERROR
)

// restPath is the base path of Horizon's REST API on a Connection Server.
const restPath = "/rest"

// DefaultMaxResponseBytes bounds how much of a response body is read.
const DefaultMaxResponseBytes int64 = 64 << 20

// ErrInvalidInput marks errors caused by the caller's arguments, before any
// request is sent.
var ErrInvalidInput = errors.New("invalid input")

// Client sends messages to Horizon sessions. It is safe for concurrent use.
type Client struct {
	api     *gen.Client
	baseURL string
}

type settings struct {
	token            string
	httpClient       *http.Client
	userAgent        string
	maxResponseBytes int64
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

// WithUserAgent sets the User-Agent header.
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
// "https://horizon.example.com". The API's base path /rest is appended unless
// baseURL already ends with it.
func New(baseURL string, opts ...Option) (*Client, error) {
	apiURL, err := normalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	s := settings{
		httpClient:       &http.Client{},
		userAgent:        "hzkit-sendmessage",
		maxResponseBytes: DefaultMaxResponseBytes,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidInput)
		}
		if err := opt(&s); err != nil {
			return nil, err
		}
	}
	api, err := gen.NewClient(apiURL,
		gen.WithHTTPClient(limitedDoer{client: s.httpClient, max: s.maxResponseBytes}),
		gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("User-Agent", s.userAgent)
			req.Header.Set("Accept", "application/json")
			if s.token != "" {
				req.Header.Set("Authorization", "Bearer "+s.token)
			}
			return nil
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &Client{api: api, baseURL: apiURL}, nil
}

// BaseURL returns the API's base URL, /rest included.
func (c *Client) BaseURL() string { return c.baseURL }

func normalizeBaseURL(raw string) (string, error) {
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
