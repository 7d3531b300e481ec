// Package server is the reference server for Horizon's Send Message To Sessions
// operation: an http.Handler that validates every request under /rest against
// the embedded contract, answers like a Horizon 8 Connection Server, and records
// what it delivered for inspection.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/admission"
	"github.com/hzkit/sendmessage/server/internal/contract"
	"github.com/hzkit/sendmessage/server/internal/fastpath"
	"github.com/hzkit/sendmessage/server/internal/faults"
	"github.com/hzkit/sendmessage/server/internal/logins"
	"github.com/hzkit/sendmessage/server/internal/metrics"
	"github.com/hzkit/sendmessage/server/internal/sessions"
)

// BasePath is where the API is mounted; it is the spec's only server URL.
const BasePath = "/rest"

// Config is what New needs: a Token, or Users who log in, or both.
type Config struct {
	// Token is a static bearer token that every protected operation accepts
	// and that never expires; "" for none.
	Token string
	// Users may log in (POST /login) for access and refresh tokens.
	Users []model.ReferenceUser
	// AccessTokenTTL and RefreshTokenTTL are the lifetimes of the tokens of a
	// login; zero takes DefaultAccessTokenTTL and DefaultRefreshTokenTTL.
	AccessTokenTTL, RefreshTokenTTL time.Duration
	// Store holds sessions and deliveries; nil means a MemoryStore over
	// Sessions that records at most MaxRecordedMessages deliveries.
	Store Store
	// Sessions is the inventory of the store New makes when Store is nil;
	// nil means the built-in demo sessions.
	Sessions []model.SessionInfo
	// MaxRecordedMessages caps the record of the store New makes, over all
	// sessions: once full, each delivery evicts the oldest. 0 means
	// DefaultMaxRecordedMessages.
	MaxRecordedMessages int
	// Faults are the fault rules in force from the start, tried in this
	// order; they get the ids "1", "2"... A rule its operation does not allow
	// is a *FaultRuleError.
	Faults []model.FaultRule
	// MaxRecordedBytes caps the same record in bytes (each delivery counted
	// with its own copy of its texts); 0 means DefaultMaxRecordedBytes.
	MaxRecordedBytes int64
	// LoginThrottle slows down repeated failed logins.
	LoginThrottle LoginThrottle
	// Limits bound what a request may carry; zero fields take their defaults.
	Limits Limits
	// Logger receives the access log and errors; nil discards them.
	Logger *slog.Logger
	// Now is the clock, for timestamps and token expiry; nil means time.Now.
	Now func() time.Time

	// noFastPath sends every request through the generic validator (tests).
	noFastPath bool
	// specChange, when set, changes the spec before New builds anything from
	// it (tests: a server for a spec other than the shipped one).
	specChange func(*openapi3.T)
	// faultSleep, when set, waits out the delays of fault rules (tests: see
	// the delays without waiting them); it must return once ctx is done.
	faultSleep func(ctx context.Context, d time.Duration)
}

// Server is the reference server. It is an http.Handler.
type Server struct {
	echo    *echo.Echo
	limits  Limits
	logger  *slog.Logger
	allowed *allowedMethods
	routes  routes
	auth    logins.Service
	// inFlight are the places of requests handled at once; bodies the
	// bytes of bodies being read; decoding what the generic validator's
	// decoding of bodies costs.
	inFlight, bodies, decoding *admission.Pool
	metrics                    *metrics.Metrics
	// unknownOperation counts requests outside the spec.
	unknownOperation *metrics.Operation
	logins           loginThrottle
	now              func() time.Time
	// validation are the validator's options, which the fast path was
	// compiled for; paramDecoder decodes the JSON query parameters.
	validation   openapi3filter.Options
	paramDecoder openapi3filter.ContentParameterDecoder
	// fastPath says whether the fast path is on, and if not why.
	fastPath model.FastPathStatus
	// handlers says, for fault injection, whether it would accept a request.
	handlers *handlers
	// faults are the fault rules; faultOps the operations they may name, by
	// the generated methods' names.
	faults   *faults.Engine
	faultOps map[string]string
	sleep    func(ctx context.Context, d time.Duration)
	// specLimits are the limits set in the spec, for the served document.
	specLimits []contract.Limit
	// docsPage is the path of the docs page.
	docsPage string
	// requestIDs make the X-Request-Id of requests that bring none.
	requestIDs *requestIDs
}

// New builds a ready server from cfg.
func New(cfg Config) (*Server, error) {
	doc, err := contract.Load()
	if err != nil {
		return nil, err
	}
	if cfg.specChange != nil {
		cfg.specChange(doc)
	}
	s, store, err := newServer(cfg, doc)
	if err != nil {
		return nil, err
	}
	s.validation = openapi3filter.Options{
		AuthenticationFunc: s.authenticate,
		// The value validated is the one bound, never a second decode.
		KeepValidatedValue: true,
		// Error texts would dump the offending value, indented: a 20 KB
		// body nested 10000 deep took seconds. Answers use the reason.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
	s.paramDecoder = jsonParameters(map[string]parameterLimits{"filter": {
		text:  countRefusal(s, metrics.LimitFilter, sessions.CheckFilterText),
		shape: countRefusal(s, metrics.LimitFilter, sessions.CheckFilterShape),
	}}, s.validation.SchemaValidationOptions...)
	s.fastPath = s.compileFastPath(doc, cfg.noFastPath)
	if s.handlers, err = newHandlers(doc, s, store); err != nil {
		return nil, err
	}

	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Binder = stateBinder{}
	// Faults come after the token, the request's checks and the binding of
	// its body, on either path: they only meet requests that are accepted.
	register(e, s.validate, apiserver.NewStrictHandler(s.handlers, []apiserver.StrictMiddlewareFunc{s.injectFaults, s.throttleLogin}))
	if s.docsPage, err = docsPagePath(doc); err != nil {
		return nil, err
	}
	leadToDocs(e, s.docsPage)
	return s, nil
}

// newServer makes the server's parts from cfg and the spec, but its echo
// stack, and the store it serves.
func newServer(cfg Config, doc *openapi3.T) (*Server, Store, error) {
	if cfg.Token == "" && len(cfg.Users) == 0 {
		return nil, nil, errors.New("server: a static bearer token or at least one user is required")
	}
	limits, specLimits, err := applyLimits(doc, cfg.Limits)
	if err != nil {
		return nil, nil, err
	}
	store, err := newStore(cfg)
	if err != nil {
		return nil, nil, err
	}
	throttled, err := newLoginThrottle(cfg.LoginThrottle)
	if err != nil {
		return nil, nil, err
	}
	s := &Server{
		echo: echo.New(), limits: limits, logger: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		inFlight: admission.NewPool(inFlightShares(int64(limits.MaxRequestsInFlight))),
		bodies:   admission.NewPool(bodyShares(limits.MaxBodyBytesInFlight)),
		decoding: admission.NewPool(decodeShares(limits.MaxDecodeBytesInFlight)),
		metrics:  metrics.New(), requestIDs: newRequestIDs(), logins: throttled, now: cfg.Now, sleep: cfg.faultSleep, specLimits: specLimits,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.sleep == nil {
		s.sleep = sleepContext
	}
	if s.auth, err = logins.New(cfg.Token, cfg.Users, cfg.AccessTokenTTL, cfg.RefreshTokenTTL, s.now); err != nil {
		return nil, nil, err
	}
	if s.allowed, err = newAllowedMethods(doc); err != nil {
		return nil, nil, err
	}
	if s.faults, s.faultOps, err = newFaults(doc, cfg.Faults, limits); err != nil {
		return nil, nil, err
	}
	if s.routes, err = newRoutes(doc, limits, s.metrics); err != nil {
		return nil, nil, err
	}
	s.unknownOperation = s.metrics.Operation("unknown")
	if counted, ok := store.(interface{ Evicted() int64 }); ok {
		s.metrics.Evicted(func() float64 { return float64(counted.Evicted()) })
	}
	return s, store, nil
}

// compileFastPath puts the fast path on the operations it can handle, and
// says whether it is on, and if not why.
func (s *Server) compileFastPath(doc *openapi3.T, off bool) model.FastPathStatus {
	if off {
		reason := "turned off by the server's configuration"
		return model.FastPathStatus{Reason: &reason}
	}
	// Compiled for the validator's own options: it accepts only what the
	// validator would with them.
	fast, err := fastpath.Compile(doc, BasePath, &s.validation, map[string]reflect.Type{
		"sendMessageToSessions": reflect.TypeFor[model.SendMessageToSessionsJSONRequestBody](),
	})
	if err != nil {
		// Still correct, only slower: every request takes the validator.
		reason := err.Error()
		s.logger.Error("fast path OFF: every send-message body goes through the generic validator, about half as fast; the health answer says so too",
			"reason", reason)
		return model.FastPathStatus{Reason: &reason}
	}
	s.routes.each(func(method, _ string, op *operation) { op.fast = fast.Operation(method, BasePath+op.route.Path) })
	return model.FastPathStatus{Active: true}
}

// newHandlers makes the handlers of the spec's operations.
func newHandlers(doc *openapi3.T, s *Server, store Store) (*handlers, error) {
	session, err := contract.Schema(doc, contract.SessionSchema)
	if err != nil {
		return nil, err
	}
	fields, err := sessions.NewFields(session)
	if err != nil {
		return nil, fmt.Errorf("server: spec schema %s: %w", contract.SessionSchema, err)
	}
	// The spec as the server enforces it, limits included, for its readers.
	var spec servedSpec
	if spec.yaml, spec.json, err = contract.Document(s.specLimits); err != nil {
		return nil, err
	}
	return &handlers{store: store, auth: s.auth, filterFields: fields, now: s.now, fastPath: s.fastPath,
		spec: spec, faults: s.faults, metrics: s.metrics}, nil
}

// goName is the Go name oapi-codegen gives an operation id: login is Login.
func goName(operationID string) string {
	if operationID == "" {
		return ""
	}
	return strings.ToUpper(operationID[:1]) + operationID[1:]
}

// countRefusal returns check, counting its refusals as refusals by limit.
func countRefusal[T any](s *Server, limit string, check func(T) error) func(T) error {
	return func(v T) error {
		err := check(v)
		if err != nil {
			s.metrics.Refused(limit)
		}
		return err
	}
}

// strictHandler is a generated strict handler, as its middleware sees it.
type strictHandler = apiserver.StrictHandlerFunc

// Metrics returns the registry of the server's Prometheus metrics, Go's
// runtime metrics included, for a scrape handler (promhttp.HandlerFor) and
// for collectors of the program that serves it.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics.Registry }

// RefuseConnection counts a connection closed at the connection cap.
func (s *Server) RefuseConnection() { s.metrics.Refused(metrics.LimitConnections) }

// ServeHTTP implements http.Handler. It does what echo's ServeHTTP does, with
// the server's one middleware (serve) called as a function: echo would
// compose its middleware anew for every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := s.echo.AcquireContext()
	c.Reset(r, w)
	s.echo.Router().Find(r.Method, echo.GetPath(r), c)
	s.serve(c, c.Handler())
	s.echo.ReleaseContext(c)
}

// FastPath says whether plain send-message bodies take the fast path, and
// if not, why not.
func (s *Server) FastPath() model.FastPathStatus { return s.fastPath }

// DocsPage returns the path of the docs page, which renders the spec the
// server enforces: BasePath + "/refserver/v1/docs".
func (s *Server) DocsPage() string { return s.docsPage }

// Limits returns the limits in force, defaults filled in.
func (s *Server) Limits() Limits { return s.limits }

// newStore returns cfg.Store, or makes the MemoryStore that cfg describes.
func newStore(cfg Config) (Store, error) {
	if cfg.Store != nil {
		if cfg.Sessions != nil || cfg.MaxRecordedMessages != 0 || cfg.MaxRecordedBytes != 0 {
			return nil, errors.New("server: Sessions, MaxRecordedMessages and MaxRecordedBytes configure the store New makes; leave them unset with Store")
		}
		return cfg.Store, nil
	}
	if cfg.MaxRecordedMessages < 0 {
		return nil, fmt.Errorf("server: MaxRecordedMessages must not be negative: %d", cfg.MaxRecordedMessages)
	}
	maxMessages := cfg.MaxRecordedMessages
	if maxMessages == 0 {
		maxMessages = DefaultMaxRecordedMessages
	}
	if cfg.MaxRecordedBytes < 0 {
		return nil, fmt.Errorf("server: MaxRecordedBytes must not be negative: %d", cfg.MaxRecordedBytes)
	}
	maxBytes := cfg.MaxRecordedBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxRecordedBytes
	}
	sessions := cfg.Sessions
	if sessions == nil {
		var err error
		if sessions, err = DemoSessions(); err != nil {
			return nil, err
		}
	}
	return newMemoryStore(sessions, maxMessages, maxBytes), nil
}
