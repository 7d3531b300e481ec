// Package refservertest starts the Horizon reference server in-process for a
// Go test, as net/http/httptest does for a handler: each server is new, on a
// loopback port of its own, and is gone when the test ends. Point the
// automation under test at URL (or use Client, logged in already), then ask the
// server what it delivered, and make it fail on cue with fault rules.
//
//	func TestWarnFinance(t *testing.T) {
//		srv := refservertest.New(t)
//		if _, err := warnPool(t.Context(), srv.Client, "pool-finance", "Restart at 18:00"); err != nil {
//			t.Fatal(err)
//		}
//		got, err := srv.Delivered(t.Context())
//		if err != nil {
//			t.Fatal(err)
//		}
//		if len(got) != 2 {
//			t.Errorf("delivered %d messages, want the 2 connected sessions of pool-finance", len(got))
//		}
//	}
//
// Without options the server holds the built-in demo data
// (server.DemoSessions: two desktop pools and an application farm; in
// pool-finance the connected sessions 7cdd624f-37d1-46c1-ab96-695a5d13956f and
// 2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f and a disconnected one) and one
// account, EXAMPLE\administrator, with a password made up for the server. Options replace the sessions, the accounts,
// set fault rules and limits. The server answers every request as
// server/cmd/refserver does: validated against the contract, with its limits.
//
// The module is not published: a module of your own requires it with a
// replace directive pointing at a clone (docs/refservertest.md).
package refservertest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/apiclient"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// Server is a reference server serving on loopback.
type Server struct {
	// URL is the server's address, as a Connection Server's is given:
	// "http://127.0.0.1:PORT" ("https://..." WithTLS). client.Login and
	// client.New take it as it is; the API is under URL + "/rest".
	URL string
	// Token is the operator's static bearer token. Every operation accepts
	// it, and the inspection operations (the record, fault rules) need it.
	Token string
	// Credentials are the account that Client logged in as: the first of
	// WithUsers, or the demo administrator; zero when WithUsers gave none.
	Credentials client.Credentials
	// Client is logged in as Credentials (with no users: it sends Token);
	// Close logs it out.
	Client *client.Client

	http  *httptest.Server
	api   *apiclient.ClientWithResponses
	close sync.Once
}

// An Option configures a Server.
type Option func(*settings)

type settings struct {
	config server.Config
	change []func(*server.Config)
	tls    bool
	// handler wraps the server's handler (this package's tests: answers
	// held against the spec).
	handler func(http.Handler) http.Handler
}

// WithSessions replaces the demo inventory with these sessions (none: an
// empty inventory). Each needs an id and a session_state; ids are unique.
func WithSessions(sessions ...model.SessionInfo) Option {
	return func(s *settings) {
		// Not nil even when empty: nil would mean the demo inventory.
		s.config.Sessions = append([]model.SessionInfo{}, sessions...)
	}
}

// WithUsers replaces the demo administrator with these accounts; Client
// logs in as the first. With none, only Token works, and Client sends it.
func WithUsers(users ...model.ReferenceUser) Option {
	return func(s *settings) { s.config.Users = append([]model.ReferenceUser{}, users...) }
}

// WithFaults puts fault rules in force from the start, tried in this order,
// with the ids "1", "2"... as a data file's. New fails the test for a rule
// that its operation does not allow. AddFault adds rules later. Rule makes
// each from a rule of one action.
func WithFaults(rules ...model.FaultRule) Option {
	return func(s *settings) { s.config.Faults = append(s.config.Faults, rules...) }
}

// RuleOfAction is a fault rule of one action: one of the schemas that the
// spec's FaultRule is one of.
type RuleOfAction interface {
	model.RespondFaultRule | model.FailSessionsFaultRule | model.DelayFaultRule |
		model.CloseBeforeActingFaultRule | model.CloseAfterActingFaultRule
}

// Rule returns rule as the model.FaultRule that WithFaults, AddFault and the
// server take, its action set by its type:
//
//	refservertest.Rule(model.RespondFaultRule{
//		Operation: model.FaultOperationSendMessageToSessions, Status: 503,
//	})
func Rule[R RuleOfAction](rule R) model.FaultRule {
	var out model.FaultRule
	var err error
	switch r := any(rule).(type) {
	case model.RespondFaultRule:
		err = out.FromRespondFaultRule(r)
	case model.FailSessionsFaultRule:
		err = out.FromFailSessionsFaultRule(r)
	case model.DelayFaultRule:
		err = out.FromDelayFaultRule(r)
	case model.CloseBeforeActingFaultRule:
		err = out.FromCloseBeforeActingFaultRule(r)
	case model.CloseAfterActingFaultRule:
		err = out.FromCloseAfterActingFaultRule(r)
	}
	if err != nil { // plain structs always encode
		panic(fmt.Sprintf("refservertest: encode fault rule: %v", err))
	}
	return out
}

// WithLimits sets the server's limits (body sizes, message length, session
// ids per request); zero fields keep their defaults.
func WithLimits(limits server.Limits) Option {
	return func(s *settings) { s.config.Limits = limits }
}

// WithTLS serves HTTPS, with httptest's certificate: Client and HTTPClient
// trust it, and Certificate returns it for other clients.
func WithTLS() Option {
	return func(s *settings) { s.tls = true }
}

// WithConfig changes the server's configuration after the other options,
// for what they do not set: token lifetimes, the record's caps, a clock, a
// logger. Token may be changed, not emptied: it becomes Server.Token.
func WithConfig(change func(*server.Config)) Option {
	return func(s *settings) { s.change = append(s.change, change) }
}

// New starts a server for the test and stops it when the test and its
// subtests end. It fails the test when the server cannot start (an
// option's value it refuses).
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server that runs until Close: for an example, a TestMain
// or a program. In a test, New does the same and stops it on its own.
func Start(opts ...Option) (*Server, error) {
	token, err := randomSecret()
	if err != nil {
		return nil, err
	}
	st := settings{config: server.Config{Token: token}}
	for _, opt := range opts {
		opt(&st)
	}
	for _, change := range st.change {
		change(&st.config)
	}
	if st.config.Token == "" {
		return nil, errors.New("refservertest: WithConfig emptied Token; the record and the fault rules need it")
	}
	if st.config.Users == nil {
		password, err := randomSecret()
		if err != nil {
			return nil, err
		}
		st.config.Users = []model.ReferenceUser{server.DemoAdministrator(password)}
	}
	srv, err := server.New(st.config)
	if err != nil {
		return nil, fmt.Errorf("refservertest: %w", err)
	}
	var handler http.Handler = srv
	if st.handler != nil {
		handler = st.handler(handler)
	}
	s := &Server{Token: st.config.Token}
	if st.tls {
		s.http = httptest.NewTLSServer(handler)
	} else {
		s.http = httptest.NewServer(handler)
	}
	s.URL = s.http.URL
	if err := s.connect(st.config); err != nil {
		s.http.Close()
		return nil, err
	}
	return s, nil
}

// connect makes the clients: the inspection client with the operator's
// token, and Client, logged in as the first user.
func (s *Server) connect(config server.Config) error {
	operator := apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+s.Token)
		return nil
	})
	api, err := apiclient.NewClientWithResponses(s.URL+server.BasePath, apiclient.WithHTTPClient(s.http.Client()), operator)
	if err != nil {
		return fmt.Errorf("refservertest: inspection client: %w", err)
	}
	s.api = api
	if len(config.Users) == 0 {
		s.Client, err = client.New(s.URL, client.WithToken(s.Token), client.WithHTTPClient(s.http.Client()))
		if err != nil {
			return fmt.Errorf("refservertest: client: %w", err)
		}
		return nil
	}
	user := config.Users[0]
	s.Credentials = client.Credentials{Username: user.Username, Password: user.Password, Domain: user.Domain}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	s.Client, err = client.Login(ctx, s.URL, s.Credentials, client.WithHTTPClient(s.http.Client()))
	if err != nil {
		return fmt.Errorf("refservertest: log in as %s: %w", s.Credentials, err)
	}
	return nil
}

// callTimeout bounds the calls that Start and Close make on their own.
const callTimeout = 10 * time.Second

// Close logs Client out and stops the server, waiting for the requests in
// flight. New calls it when the test ends; a second call does nothing.
func (s *Server) Close() {
	s.close.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		_ = s.Client.Close(ctx) // the server goes: nothing to report
		s.http.Close()
	})
}

// HTTPClient returns an HTTP client for the server's URL, which trusts its
// certificate WithTLS.
func (s *Server) HTTPClient() *http.Client { return s.http.Client() }

// Certificate returns the server's certificate WithTLS, else nil.
func (s *Server) Certificate() *x509.Certificate {
	if s.http.TLS == nil {
		return nil
	}
	return s.http.Certificate()
}

// Delivered returns every delivery in the server's record, oldest first:
// the session, its user, the message and its type, the time of the result
// item, and the id of the fault rule (FaultID) that kept the answer from the
// client, if one did. Only the newest deliveries are kept (100000 unless
// WithConfig sets MaxRecordedMessages).
func (s *Server) Delivered(ctx context.Context) ([]model.DeliveredMessage, error) {
	return s.delivered(ctx, nil)
}

// DeliveredTo is Delivered for one session.
func (s *Server) DeliveredTo(ctx context.Context, sessionID string) ([]model.DeliveredMessage, error) {
	return s.delivered(ctx, &sessionID)
}

func (s *Server) delivered(ctx context.Context, sessionID *string) ([]model.DeliveredMessage, error) {
	limit := int32(model.ListDeliveredMessagesLimitMaximum)
	params := &model.ListDeliveredMessagesParams{SessionID: sessionID, Limit: &limit}
	all := []model.DeliveredMessage{}
	for {
		resp, err := s.api.ListDeliveredMessagesWithResponse(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("refservertest: read the record: %w", err)
		}
		if resp.JSON200 == nil {
			return nil, answerError("read the record", resp.HTTPResponse, resp.Body)
		}
		all = append(all, resp.JSON200.Messages...)
		if resp.JSON200.NextAfter == nil {
			return all, nil
		}
		params.After = resp.JSON200.NextAfter
	}
}

// ClearDelivered empties the record, as between the cases of a test.
func (s *Server) ClearDelivered(ctx context.Context) error {
	resp, err := s.api.ClearDeliveredMessagesWithResponse(ctx)
	if err != nil {
		return fmt.Errorf("refservertest: clear the record: %w", err)
	}
	if resp.StatusCode() != http.StatusNoContent {
		return answerError("clear the record", resp.HTTPResponse, resp.Body)
	}
	return nil
}

// AddFault adds a fault rule after the others and returns it with its id.
// A rule the server refuses (the spec's FaultRule, or what its operation
// allows) is an error that says why.
func (s *Server) AddFault(ctx context.Context, rule model.FaultRule) (model.Fault, error) {
	resp, err := s.api.AddFaultWithResponse(ctx, rule)
	if err != nil {
		return model.Fault{}, fmt.Errorf("refservertest: add fault rule: %w", err)
	}
	if resp.JSON201 == nil {
		return model.Fault{}, answerError("add fault rule", resp.HTTPResponse, resp.Body)
	}
	return *resp.JSON201, nil
}

// Faults returns the fault rules in the order they are tried, each with its
// id and the number of requests it has acted on (Hits).
func (s *Server) Faults(ctx context.Context) ([]model.Fault, error) {
	var all []model.Fault
	params := &model.ListFaultsParams{}
	for {
		resp, err := s.api.ListFaultsWithResponse(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("refservertest: list fault rules: %w", err)
		}
		if resp.JSON200 == nil {
			return nil, answerError("list fault rules", resp.HTTPResponse, resp.Body)
		}
		all = append(all, resp.JSON200.Faults...)
		if resp.JSON200.NextAfter == nil {
			return all, nil
		}
		params.After = resp.JSON200.NextAfter
	}
}

// DeleteFault deletes one fault rule; an unknown id is an error.
func (s *Server) DeleteFault(ctx context.Context, id string) error {
	resp, err := s.api.DeleteFaultWithResponse(ctx, id)
	if err != nil {
		return fmt.Errorf("refservertest: delete fault rule %q: %w", id, err)
	}
	if resp.StatusCode() != http.StatusNoContent {
		return answerError(fmt.Sprintf("delete fault rule %q", id), resp.HTTPResponse, resp.Body)
	}
	return nil
}

// ClearFaults deletes every fault rule.
func (s *Server) ClearFaults(ctx context.Context) error {
	resp, err := s.api.ClearFaultsWithResponse(ctx)
	if err != nil {
		return fmt.Errorf("refservertest: clear fault rules: %w", err)
	}
	if resp.StatusCode() != http.StatusNoContent {
		return answerError("clear fault rules", resp.HTTPResponse, resp.Body)
	}
	return nil
}

// answerError says what the server answered instead, with its reason.
func answerError(what string, resp *http.Response, body []byte) error {
	var reason model.ErrorResponse
	if json.Unmarshal(body, &reason) == nil && reason.ErrorMessage != "" {
		return fmt.Errorf("refservertest: %s: the server answered %s: %s", what, resp.Status, reason.ErrorMessage)
	}
	return fmt.Errorf("refservertest: %s: the server answered %s", what, resp.Status)
}

// randomSecret makes up a token or a password.
func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("refservertest: make up a secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
