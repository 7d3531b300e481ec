// Command refserver is the Horizon Send Message To Sessions reference server:
// deploy it where a Horizon Connection Server would be, point your tools at it,
// and read back what was delivered.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop() // not deferred: os.Exit would skip it
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "refserver:", err)
		}
		os.Exit(exitStatus(err))
	}
}

// envPrefix names the environment variable of each flag: -max-body-bytes is
// REFSERVER_MAX_BODY_BYTES. A flag on the command line wins over its variable.
const envPrefix = "REFSERVER_"

type options struct {
	addr              string
	token             string
	dataFile          string
	adminPassword     string
	accessTokenTTL    time.Duration
	refreshTokenTTL   time.Duration
	tls               bool
	tlsCert           string
	tlsKey            string
	tlsCertOut        string
	limits            server.Limits
	maxRecorded       int
	maxRecordedBytes  int64
	loginThrottle     server.LoginThrottle
	maxConnections    int
	maxStreams        int
	metricsAddr       string
	maxHeaderBytes    int
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	shutdownTimeout   time.Duration
	logLevel          slog.Level
	logFormat         string
	version           bool
	healthcheck       bool
}

// versionFlag prints the versions and exits; it has no environment variable,
// which would turn every start into a version query.
const versionFlag = "version"

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("refserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (host:port)")
	fs.StringVar(&o.token, "token", "", "a static bearer token, accepted next to the tokens of logins; when empty a random one is generated and printed once")
	fs.StringVar(&o.dataFile, "data", "", `JSON data file {"users": [...], "sessions": [...]} replacing the built-in demo data`)
	fs.StringVar(&o.adminPassword, "admin-password", "", "password of the demo data's account EXAMPLE\\administrator; when empty a random one is generated and printed once")
	o.accessTokenTTL, o.refreshTokenTTL = server.DefaultAccessTokenTTL, server.DefaultRefreshTokenTTL
	fs.Var(positiveDuration{&o.accessTokenTTL}, "access-token-ttl", "lifetime of an access token from a login (a `duration`)")
	fs.Var(positiveDuration{&o.refreshTokenTTL}, "refresh-token-ttl", "lifetime of a login and its refresh token (a `duration`)")
	fs.BoolVar(&o.tls, "tls", false, "serve HTTPS with a self-signed certificate generated at start-up")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate `file` (needs -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key `file` of -tls-cert")
	fs.StringVar(&o.tlsCertOut, "tls-cert-out", "", "with -tls, also write the generated certificate (PEM) to this `file`, for clients to trust")
	o.limits.MaxBodyBytes = server.DefaultMaxBodyBytes
	fs.Var(nonNegative[int64]{&o.limits.MaxBodyBytes}, "max-body-bytes", "largest request body accepted, in `bytes` (413 above)")
	fs.Var(nonNegative[int]{&o.limits.MaxMessageLength}, "max-message-length", "longest message, in `characters` (0: the spec's maxLength)")
	fs.Var(nonNegative[int]{&o.limits.MaxSessionIDs}, "max-session-ids", "most session ids in one request, a `count` (0: the spec's maxItems)")
	o.limits.MaxAuthBodyBytes = server.DefaultMaxAuthBodyBytes
	fs.Var(nonNegative[int64]{&o.limits.MaxAuthBodyBytes}, "max-auth-body-bytes", "largest body of a login, refresh or logout, in `bytes` (413 above)")
	o.limits.MaxBodyBytesInFlight = server.DefaultMaxBodyBytesInFlight
	fs.Var(nonNegative[int64]{&o.limits.MaxBodyBytesInFlight}, "max-body-bytes-in-flight", "request bodies read at once, over all requests, in `bytes` (503 with Retry-After past it)")
	o.maxRecorded = server.DefaultMaxRecordedMessages
	fs.Var(nonNegative[int]{&o.maxRecorded}, "max-recorded-messages", "most delivered messages kept for inspection, a `count` over all sessions; the oldest are evicted first")
	o.maxRecordedBytes = server.DefaultMaxRecordedBytes
	fs.Var(nonNegative[int64]{&o.maxRecordedBytes}, "max-recorded-bytes", "most `bytes` of delivered messages kept for inspection (each counted with its own copy of its texts); the oldest are evicted first")
	throttle := true
	fs.BoolVar(&throttle, "login-throttle", true, "throttle failed logins per account and per client address (false: off)")
	o.loginThrottle.PerUser, o.loginThrottle.PerAddress = server.DefaultLoginFailuresPerUser, server.DefaultLoginFailuresPerAddress
	o.loginThrottle.Window = server.DefaultLoginFailureWindow
	fs.Var(positive{&o.loginThrottle.PerUser}, "login-failures-per-user", "failed logins an account may have at once before 429, a `count`")
	fs.Var(positive{&o.loginThrottle.PerAddress}, "login-failures-per-address", "failed logins a client address may have at once before 429, a `count`")
	fs.Var(positiveDuration{&o.loginThrottle.Window}, "login-failure-window", "the time in which that many failures are allowed: one try is regained every window / count (a `duration`)")
	fs.Var(nonNegative[int]{&o.maxConnections}, "max-connections", "most connections open at once, a `count`; at the cap the longest idle one is closed (0: the open-file limit less 64, at most 10000)")
	o.maxStreams = defaultMaxStreams
	fs.Var(positive{&o.maxStreams}, "max-concurrent-streams", "most HTTP/2 streams at once on one connection, a `count`")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://`host:port`/metrics, without a token (empty: off); keep it on loopback or a private network")
	o.maxHeaderBytes = http.DefaultMaxHeaderBytes
	fs.Var(nonNegative[int]{&o.maxHeaderBytes}, "max-header-bytes", "largest request header section, in `bytes` (431 above; Go's HTTP server reads up to 4096 more before refusing)")
	o.readHeaderTimeout, o.readTimeout, o.writeTimeout = 5*time.Second, 30*time.Second, 30*time.Second
	o.idleTimeout, o.shutdownTimeout = 120*time.Second, 15*time.Second
	fs.Var(positiveDuration{&o.readHeaderTimeout}, "read-header-timeout", "time allowed to read request headers (a `duration`)")
	fs.Var(positiveDuration{&o.readTimeout}, "read-timeout", "time allowed to read a whole request (a `duration`)")
	fs.Var(positiveDuration{&o.writeTimeout}, "write-timeout", "time allowed to write a response (a `duration`)")
	fs.Var(positiveDuration{&o.idleTimeout}, "idle-timeout", "how long an idle keep-alive connection stays open (a `duration`)")
	fs.Var(positiveDuration{&o.shutdownTimeout}, "shutdown-timeout", "how long in-flight requests may finish after SIGINT or SIGTERM (a `duration`)")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log `level`: DEBUG, INFO, WARN or ERROR")
	o.logFormat = "text"
	fs.Var(oneOf{&o.logFormat, []string{"text", "json"}}, "log-format", "log `format`: text or json")
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " (env " + envName(f.Name) + ")" })
	fs.BoolVar(&o.version, versionFlag, false, "print the version of the contract the server enforces (and of Horizon's API it follows), and exit")
	fs.BoolVar(&o.healthcheck, healthcheckFlag, false, healthcheckUsage)

	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == versionFlag || f.Name == healthcheckFlag {
			return
		}
		value := getenv(envName(f.Name))
		if onCommandLine[f.Name] || value == "" {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %q for environment variable %s: %w", value, envName(f.Name), err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	o.loginThrottle.Off = !throttle
	return o, o.check()
}

// check refuses combinations of options that cannot all be honoured.
func (o options) check() error {
	switch {
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return errors.New("-tls-cert and -tls-key go together")
	case o.tls && o.tlsCert != "":
		return errors.New("-tls (a generated certificate) and -tls-cert exclude each other")
	case o.tlsCertOut != "" && !o.tls:
		return errors.New("-tls-cert-out writes the certificate that -tls generates: give -tls too")
	case o.adminPassword != "" && o.dataFile != "":
		return errors.New("-admin-password is for the built-in demo data; with -data the accounts are the file's users")
	}
	return nil
}

// Flag values that refuse bad input, so that a flag and its environment
// variable are checked alike.
type (
	nonNegative[T int | int64] struct{ p *T }
	positive                   struct{ p *int }
	positiveDuration           struct{ p *time.Duration }
	oneOf                      struct {
		p       *string
		choices []string
	}
)

func (v nonNegative[T]) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*v.p), 10)
}

func (v nonNegative[T]) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || int64(T(n)) != n {
		return errors.New("want a whole number, 0 or more")
	}
	*v.p = T(n)
	return nil
}

func (v positive) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v positive) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return errors.New("want a whole number, 1 or more")
	}
	*v.p = n
	return nil
}

func (v positiveDuration) String() string {
	if v.p == nil {
		return "0s"
	}
	return v.p.String()
}

func (v positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return errors.New("want a positive duration such as 30s or 2m")
	}
	*v.p = d
	return nil
}

func (v oneOf) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v oneOf) Set(s string) error {
	if !slices.Contains(v.choices, s) {
		return fmt.Errorf("want one of %s", strings.Join(v.choices, ", "))
	}
	*v.p = s
	return nil
}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// run is the whole program: it serves until ctx is done, then shuts down
// gracefully. stdout gets the address, the TLS fingerprint and the generated
// secrets; stderr the logs, and a line if the fast path is off.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, newServer)
}

// refServer is what run needs of the server it serves.
type refServer interface {
	http.Handler
	Limits() server.Limits
	FastPath() model.FastPathStatus
	Metrics() *prometheus.Registry
	RefuseConnection()
}

// defaultMaxStreams is -max-concurrent-streams unless given: Go's own default.
const defaultMaxStreams = 250

// serveMetrics serves the registry's metrics at http://addr/metrics until
// the returned stop is called. It says where on stdout.
func serveMetrics(ctx context.Context, addr string, registry *prometheus.Registry, logger *slog.Logger, stdout io.Writer) (stop func(), err error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.WithoutCancel(ctx), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn), MaxRequestsInFlight: 4, Timeout: 10 * time.Second,
	}))
	metricsServer := &http.Server{
		Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "Prometheus metrics on http://%s/metrics\n", l.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := metricsServer.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "error", err)
		}
	}()
	return func() {
		_ = metricsServer.Close()
		<-done
	}, nil
}

// newServer builds the server run serves.
func newServer(cfg server.Config) (refServer, error) {
	srv, err := server.New(cfg)
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// runWith is run with the server built by build (tests: a server in a given
// state).
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer,
	build func(server.Config) (refServer, error),
) error {
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	if o.version {
		_, err := fmt.Fprintln(stdout, versionLine())
		return err
	}
	if o.healthcheck {
		return healthcheck(ctx, o, stdout)
	}
	// Log lines are buffered and written in batches; Close writes the rest.
	logOut := newLogWriter(stderr)
	defer logOut.Close()
	logger := newLogger(o, logOut)

	cfg := server.Config{
		Token:               o.token,
		Limits:              o.limits,
		MaxRecordedMessages: o.maxRecorded,
		MaxRecordedBytes:    o.maxRecordedBytes,
		LoginThrottle:       o.loginThrottle,
		Logger:              logger,
		AccessTokenTTL:      o.accessTokenTTL,
		RefreshTokenTTL:     o.refreshTokenTTL,
	}
	generatedToken := cfg.Token == ""
	if generatedToken {
		if cfg.Token, err = randomToken(); err != nil {
			return err
		}
	}
	adminPassword, generatedPassword := o.adminPassword, false
	if o.dataFile != "" {
		raw, err := os.ReadFile(o.dataFile)
		if err != nil {
			return fmt.Errorf("read data file: %w", err)
		}
		data, err := server.LoadData(o.dataFile, raw)
		if err != nil {
			return err
		}
		// The file's inventory, even when empty: nil would mean the demo one.
		cfg.Sessions = data.Sessions
		if cfg.Sessions == nil {
			cfg.Sessions = []model.SessionInfo{}
		}
		if data.Users != nil {
			cfg.Users = *data.Users
		}
		if data.Faults != nil {
			cfg.Faults = *data.Faults
		}
	} else {
		if adminPassword == "" {
			if adminPassword, err = randomToken(); err != nil {
				return err
			}
			generatedPassword = true
		}
		cfg.Users = []model.ReferenceUser{server.DemoAdministrator(adminPassword)}
	}
	srv, err := build(cfg)
	var ruleErr *server.FaultRuleError
	if errors.As(err, &ruleErr) {
		return fmt.Errorf("data file %s: /faults/%d%s: %s", o.dataFile, ruleErr.Index, ruleErr.Pointer, ruleErr.Reason)
	}
	if err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if o.tls || o.tlsCert != "" {
		cert, err := serverCertificate(o, time.Now())
		if err != nil {
			return err
		}
		tlsConfig = serverTLSConfig(cert)
	}

	// Not cancelled by ctx: a signal during start-up ends in the graceful
	// shutdown below, not in a listen error.
	var lc net.ListenConfig
	tcpListener, err := lc.Listen(context.WithoutCancel(ctx), "tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	maxConnections := o.maxConnections
	if maxConnections == 0 {
		maxConnections = defaultMaxConnections()
	}
	listener := newConnLimit(tcpListener, maxConnections, srv.RefuseConnection)
	srv.Metrics().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "refserver", Name: "connections_open", Help: "Connections open, of at most -max-connections.",
	}, func() float64 { return float64(listener.Open()) }))
	httpServer := &http.Server{
		Handler:           srv,
		ConnState:         listener.connState,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: o.maxStreams},
		ReadHeaderTimeout: o.readHeaderTimeout,
		ReadTimeout:       o.readTimeout,
		WriteTimeout:      o.writeTimeout,
		IdleTimeout:       o.idleTimeout,
		MaxHeaderBytes:    o.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}

	// stdout is for the person who started the server: where it is, and the
	// secrets it made up, each shown once. Logs never carry them.
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "Horizon reference server listening on %s://%s%s\n", scheme, listener.Addr(), server.BasePath)
	if tlsConfig != nil {
		fmt.Fprintf(stdout, "TLS certificate SHA-256 fingerprint: %s\n", fingerprint(tlsConfig.Certificates[0].Certificate[0]))
	}
	if generatedToken {
		fmt.Fprintf(stdout, "Bearer token (generated; shown only here): %s\n", cfg.Token)
	}
	if generatedPassword {
		fmt.Fprintf(stdout, "Login %s\\%s, password (generated; shown only here): %s\n",
			server.DemoAdminDomain, server.DemoAdminUsername, adminPassword)
	}
	// Not only in the log, which may go unread: the server is correct
	// without its fast path, but slower.
	if line := fastPathNotice(srv.FastPath()); line != "" {
		fmt.Fprintln(stderr, line)
	}
	limits := srv.Limits()
	logger.Info("serving", "addr", listener.Addr().String(), "scheme", scheme, "data", dataSource(o.dataFile),
		"users", len(cfg.Users), "access_token_ttl", o.accessTokenTTL, "refresh_token_ttl", o.refreshTokenTTL,
		"max_body_bytes", limits.MaxBodyBytes, "max_auth_body_bytes", limits.MaxAuthBodyBytes,
		"max_body_bytes_in_flight", limits.MaxBodyBytesInFlight, "max_message_length", limits.MaxMessageLength,
		"max_session_ids", limits.MaxSessionIDs, "max_recorded_messages", o.maxRecorded, "max_recorded_bytes", o.maxRecordedBytes,
		"max_connections", maxConnections, "max_concurrent_streams", o.maxStreams, "login_throttle", !o.loginThrottle.Off, "fault_rules", len(cfg.Faults))

	if o.metricsAddr != "" {
		stopMetrics, err := serveMetrics(ctx, o.metricsAddr, srv.Metrics(), logger, stdout)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	serveErr := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			serveErr <- httpServer.ServeTLS(listener, "", "")
			return
		}
		serveErr <- httpServer.Serve(listener)
	}()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", o.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		// The deadline is the deadline: requests still running are cut off.
		logger.Warn("shutdown deadline passed; closing the connections left", "error", err)
		httpServer.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// versionLine is what -version prints: the contract's version (info.version
// of the embedded spec) and the version of Horizon's API it follows.
func versionLine() string {
	return fmt.Sprintf("refserver: contract %s (Horizon API %s)", model.SpecVersion, model.HorizonAPIVersion)
}

// fastPathNotice is the start-up line that says the fast path is off, and
// why; "" when it is on.
func fastPathNotice(status model.FastPathStatus) string {
	if status.Active {
		return ""
	}
	reason := "no reason given"
	if status.Reason != nil {
		reason = strings.Join(strings.Fields(*status.Reason), " ") // one line
	}
	return "refserver: WARNING: fast path OFF, every send-message request goes through the generic validator (about half as fast): " + reason
}

func newLogger(o options, w io.Writer) *slog.Logger {
	handlerOptions := &slog.HandlerOptions{Level: o.logLevel}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, handlerOptions))
	}
	return slog.New(slog.NewTextHandler(w, handlerOptions))
}

func dataSource(file string) string {
	if file == "" {
		return "built-in demo"
	}
	return file
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
