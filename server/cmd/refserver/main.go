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
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
	"github.com/hzkit/sendmessage/server/internal/textlog"
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
	tokenFile         string
	dataFile          string
	maxDataBytes      int64
	adminPassword     string
	adminPasswordFile string
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
	maxPerAddress     int
	maxStreams        int
	metricsAddr       string
	metricsMaxConns   int
	memoryLimit       int64
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
	o.servingFlags(fs)
	o.limitFlags(fs)
	o.loginFlags(fs)
	o.connectionFlags(fs)
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
	return o, o.check()
}

// servingFlags registers where and what the server serves, and its secrets.
func (o *options) servingFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (host:port)")
	fs.StringVar(&o.token, "token", "", "the operator's static bearer token, accepted next to the tokens of logins; when empty a random one is generated and printed once (prefer -token-file or the environment: a command line is visible to every local user)")
	fs.StringVar(&o.tokenFile, "token-file", "", "read the static bearer token from this `file` (its first line)")
	fs.StringVar(&o.dataFile, "data", "", `JSON data file {"users": [...], "sessions": [...]} replacing the built-in demo data`)
	o.maxDataBytes = defaultMaxDataBytes
	fs.Var(nonNegative[int64]{&o.maxDataBytes}, "max-data-bytes", "largest data file, in `bytes` (start-up stops above)")
	fs.StringVar(&o.adminPassword, "admin-password", "", "password of the demo data's account EXAMPLE\\administrator; when empty a random one is generated and printed once (prefer -admin-password-file or the environment)")
	fs.StringVar(&o.adminPasswordFile, "admin-password-file", "", "read the demo administrator's password from this `file` (its first line)")
	o.accessTokenTTL, o.refreshTokenTTL = server.DefaultAccessTokenTTL, server.DefaultRefreshTokenTTL
	fs.Var(positiveDuration{&o.accessTokenTTL}, "access-token-ttl", "lifetime of an access token from a login (a `duration`)")
	fs.Var(positiveDuration{&o.refreshTokenTTL}, "refresh-token-ttl", "lifetime of a login and its refresh token (a `duration`)")
	fs.BoolVar(&o.tls, "tls", false, "serve HTTPS with a self-signed certificate generated at start-up")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate `file` (needs -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key `file` of -tls-cert")
	fs.StringVar(&o.tlsCertOut, "tls-cert-out", "", "with -tls, also write the generated certificate (PEM) to this `file`, for clients to trust")
}

// limitFlags registers what a request may carry, and the server at once.
func (o *options) limitFlags(fs *flag.FlagSet) {
	o.limits.MaxBodyBytes = server.DefaultMaxBodyBytes
	fs.Var(nonNegative[int64]{&o.limits.MaxBodyBytes}, "max-body-bytes", "largest request body accepted, in `bytes` (413 above)")
	fs.Var(nonNegative[int]{&o.limits.MaxMessageLength}, "max-message-length", "longest message, in `characters` (0: the spec's maxLength)")
	fs.Var(nonNegative[int]{&o.limits.MaxSessionIDs}, "max-session-ids", "most session ids in one request, a `count` (0: the spec's maxItems)")
	o.limits.MaxAuthBodyBytes = server.DefaultMaxAuthBodyBytes
	fs.Var(nonNegative[int64]{&o.limits.MaxAuthBodyBytes}, "max-auth-body-bytes", "largest body of a login, refresh or logout, in `bytes` (413 above)")
	o.limits.MaxBodyBytesInFlight = server.DefaultMaxBodyBytesInFlight
	fs.Var(nonNegative[int64]{&o.limits.MaxBodyBytesInFlight}, "max-body-bytes-in-flight", "request bodies read at once, over all requests, in `bytes` (503 with Retry-After past it); one client address may hold a quarter")
	o.limits.MaxDecodeBytesInFlight = server.DefaultMaxDecodeBytesInFlight
	fs.Var(nonNegative[int64]{&o.limits.MaxDecodeBytesInFlight}, "max-decode-bytes-in-flight", "what decoding bodies on the generic validator's path may cost at once, in `bytes` (each body counts 64 times its size; 503 with Retry-After past it)")
	o.limits.MaxRequestsInFlight = server.DefaultMaxRequestsInFlight
	fs.Var(nonNegative[int]{&o.limits.MaxRequestsInFlight}, "max-requests-in-flight", "requests handled at once, a `count` (503 with Retry-After past it; HTTP/2: the stream is reset); one client address may hold a quarter, requests without a valid token a quarter")
	o.limits.MaxFaultRules = server.DefaultMaxFaultRules
	fs.Var(nonNegative[int]{&o.limits.MaxFaultRules}, "max-fault-rules", "most fault rules held at once, a `count` (409 past it)")
	o.maxRecorded = server.DefaultMaxRecordedMessages
	fs.Var(nonNegative[int]{&o.maxRecorded}, "max-recorded-messages", "most delivered messages kept for inspection, a `count` over all sessions; the oldest are evicted first")
	o.maxRecordedBytes = server.DefaultMaxRecordedBytes
	fs.Var(nonNegative[int64]{&o.maxRecordedBytes}, "max-recorded-bytes", "most `bytes` of delivered messages kept for inspection (each counted with its own copy of its texts); the oldest are evicted first")
}

// loginFlags registers the lifetimes of logins and the login throttle.
func (o *options) loginFlags(fs *flag.FlagSet) {
	fs.Var(onUnlessOff{&o.loginThrottle.Off}, "login-throttle", "throttle failed logins per account and client address, and per address (false: off)")
	o.loginThrottle.PerUser, o.loginThrottle.PerAddress = server.DefaultLoginFailuresPerUser, server.DefaultLoginFailuresPerAddress
	o.loginThrottle.Window = server.DefaultLoginFailureWindow
	fs.Var(positive{&o.loginThrottle.PerUser}, "login-failures-per-user", "failed logins an account may have at once from one client address before 429, a `count`")
	fs.Var(positive{&o.loginThrottle.PerAddress}, "login-failures-per-address", "failed logins a client address may have at once before 429, a `count`")
	o.loginThrottle.PerAccount, o.loginThrottle.Delay = server.DefaultLoginFailuresPerAccount, server.DefaultLoginFailureDelay
	fs.Var(positive{&o.loginThrottle.PerAccount}, "login-failures-per-account", "failed logins an account may have at once from all addresses before each further failure is answered late (never 429), a `count`")
	fs.Var(positiveDuration{&o.loginThrottle.Delay}, "login-failure-delay", "how late such a failure is answered (a `duration`)")
	fs.Var(positiveDuration{&o.loginThrottle.Window}, "login-failure-window", "the time in which that many failures are allowed: one try is regained every window / count (a `duration`)")
}

// connectionFlags registers the connection caps, timeouts, metrics and logs.
func (o *options) connectionFlags(fs *flag.FlagSet) {
	fs.Var(nonNegative[int]{&o.maxConnections}, "max-connections", "most connections open at once, a `count`; at the cap the one idle longest (for a second at least) is closed (0: the open-file limit less 80, at most 512)")
	o.maxPerAddress = defaultMaxConnectionsPerAddress
	fs.Var(positive{&o.maxPerAddress}, "max-connections-per-address", "most connections open at once from one client address (IPv6: one /64), a `count`")
	o.maxStreams = defaultMaxStreams
	fs.Var(positive{&o.maxStreams}, "max-concurrent-streams", "most HTTP/2 streams at once on one connection, a `count`")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://`host:port`/metrics, without a token (empty: off); keep it on loopback or a private network")
	o.metricsMaxConns = defaultMetricsMaxConnections
	fs.Var(positive{&o.metricsMaxConns}, "metrics-max-connections", "most connections open at once to -metrics-addr, a `count`")
	o.memoryLimit = defaultMemoryLimit
	fs.Var(nonNegative[int64]{&o.memoryLimit}, "memory-limit", "soft limit of the Go runtime's memory, in `bytes`: the garbage collector works harder to stay under it (0: none; GOMEMLIMIT when not given)")
	o.maxHeaderBytes = defaultMaxHeaderBytes
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
	case o.token != "" && o.tokenFile != "":
		return errors.New("-token and -token-file exclude each other")
	case o.adminPassword != "" && o.adminPasswordFile != "":
		return errors.New("-admin-password and -admin-password-file exclude each other")
	case (o.adminPassword != "" || o.adminPasswordFile != "") && o.dataFile != "":
		return errors.New("-admin-password is for the built-in demo data; with -data the accounts are the file's users")
	}
	return nil
}

// Defaults of the flags that bound what the server holds.
const (
	// defaultMaxHeaderBytes is -max-header-bytes unless given: a bearer
	// token and the usual headers need a few KiB.
	defaultMaxHeaderBytes = 16 << 10
	// defaultMaxDataBytes is -max-data-bytes unless given: 20,000 sessions
	// with every field take 15.6 MB, and reading a file costs about 9 times
	// its size at start-up, once.
	defaultMaxDataBytes int64 = 24 << 20
	// defaultMemoryLimit is -memory-limit unless given: the budgets of the
	// defaults add up to about 215 MiB live (docs/limits.md), and without a
	// limit the collector lets the heap grow to twice what is live.
	defaultMemoryLimit int64 = 224 << 20
)

// Flag values that refuse bad input, so that a flag and its environment
// variable are checked alike.
type (
	nonNegative[T int | int64] struct{ p *T }
	positive                   struct{ p *int }
	positiveDuration           struct{ p *time.Duration }
	// onUnlessOff is a boolean flag that is true when what off points to is
	// false.
	onUnlessOff struct{ off *bool }
	oneOf       struct {
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

func (v onUnlessOff) String() string {
	if v.off == nil { // the zero value, which flag prints no default for
		return "false"
	}
	return strconv.FormatBool(!*v.off)
}

func (v onUnlessOff) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*v.off = !on
	return nil
}

// IsBoolFlag lets the flag stand alone, as -login-throttle.
func (onUnlessOff) IsBoolFlag() bool { return true }

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
	DocsPage() string
	Limits() server.Limits
	FastPath() model.FastPathStatus
	Metrics() *prometheus.Registry
	RefuseConnection()
}

// defaultMaxStreams is -max-concurrent-streams unless given.
const defaultMaxStreams = 100

// serveMetrics serves the registry's metrics at http://addr/metrics until
// the returned stop is called, with at most maxConns connections open. It
// says where on stdout.
func serveMetrics(ctx context.Context, addr string, maxConns int, registry *prometheus.Registry, logger *slog.Logger, stdout io.Writer) (stop func(), err error) {
	var lc net.ListenConfig
	tcp, err := lc.Listen(context.WithoutCancel(ctx), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	// Its own cap: idle scrapers must not take the descriptors of the API.
	l := newConnLimit(tcp, maxConns, maxConns, func() {})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn), MaxRequestsInFlight: 4, Timeout: 10 * time.Second,
	}))
	metricsServer := &http.Server{
		Handler: mux, ConnState: l.connState, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
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
	// GOMEMLIMIT, which the runtime has applied, stands unless the flag
	// says otherwise.
	if o.memoryLimit > 0 && (getenv("GOMEMLIMIT") == "" || o.memoryLimit != defaultMemoryLimit) {
		debug.SetMemoryLimit(o.memoryLimit)
	}
	// Log lines are buffered and written in batches; Close writes the rest.
	logOut := newLogWriter(stderr)
	defer logOut.Close()
	logger := newLogger(o, logOut)

	cfg, made, err := newConfig(o, logger)
	if err != nil {
		return err
	}
	srv, err := build(cfg)
	// Reading the data file decoded it whole, a multiple of its size: give
	// that memory back now rather than minutes later.
	debug.FreeOSMemory()
	var ruleErr *server.FaultRuleError
	if errors.As(err, &ruleErr) {
		return fmt.Errorf("data file %s: /faults/%d%s: %s", o.dataFile, ruleErr.Index, ruleErr.Pointer, ruleErr.Reason)
	}
	if err != nil {
		return err
	}
	httpServer, listener, err := listen(ctx, o, srv, logger)
	if err != nil {
		return err
	}
	announce(o, srv, cfg, made, httpServer, listener, stdout, stderr, logger)
	if o.metricsAddr != "" {
		stopMetrics, err := serveMetrics(ctx, o.metricsAddr, o.metricsMaxConns, srv.Metrics(), logger, stdout)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	return serve(ctx, httpServer, listener, o.shutdownTimeout, logger)
}

// secrets are what the server made up at start-up, to be shown once.
type secrets struct {
	token, adminPassword string
}

// newConfig is the server's configuration from o: its secrets, from flags,
// files or made up, and its data, from the file or the demo's.
func newConfig(o options, logger *slog.Logger) (server.Config, secrets, error) {
	cfg := server.Config{
		Limits:              o.limits,
		MaxRecordedMessages: o.maxRecorded,
		MaxRecordedBytes:    o.maxRecordedBytes,
		LoginThrottle:       o.loginThrottle,
		Logger:              logger,
		AccessTokenTTL:      o.accessTokenTTL,
		RefreshTokenTTL:     o.refreshTokenTTL,
	}
	// A delayed answer must be written before the write timeout cuts it.
	cfg.Limits.MaxFaultDelay = o.writeTimeout - min(time.Second, o.writeTimeout/2)
	var made secrets
	var err error
	if cfg.Token, made.token, err = secret(o.token, o.tokenFile, "-token-file"); err != nil {
		return cfg, made, err
	}
	if o.dataFile != "" {
		if err := loadDataFile(&cfg, o.dataFile, o.maxDataBytes); err != nil {
			return cfg, made, err
		}
		return cfg, made, nil
	}
	password, generated, err := secret(o.adminPassword, o.adminPasswordFile, "-admin-password-file")
	if err != nil {
		return cfg, made, err
	}
	// A password no login could send would lock the administrator out.
	if n := utf8.RuneCountInString(password); n > model.ReferenceUserPasswordMaxLength {
		return cfg, made, fmt.Errorf("the administrator's password is %d characters; a login's password has at most %d (the spec's maxLength)", n, model.ReferenceUserPasswordMaxLength)
	}
	made.adminPassword = generated
	cfg.Users = []model.ReferenceUser{server.DemoAdministrator(password)}
	return cfg, made, nil
}

// secret returns the secret given as a value or in a file; when neither is
// given, a random one, which it also returns as generated.
func secret(value, file, fileFlag string) (secret, generated string, err error) {
	switch {
	case value != "":
		return value, "", nil
	case file != "":
		raw, err := readLimited(file, 4<<10)
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", fileFlag, err)
		}
		line, _, _ := strings.Cut(string(raw), "\n")
		if line = strings.TrimRight(line, "\r \t"); line == "" {
			return "", "", fmt.Errorf("%s %s: the first line is empty", fileFlag, file)
		}
		return line, "", nil
	}
	made, err := randomToken()
	return made, made, err
}

// loadDataFile reads the data file into cfg: its sessions (even none: nil
// would mean the demo's), its users and its fault rules.
func loadDataFile(cfg *server.Config, file string, maxBytes int64) error {
	raw, err := readLimited(file, maxBytes)
	if errors.Is(err, errTooLarge) {
		return fmt.Errorf("data file %s is larger than %d bytes: raise -max-data-bytes to load it", file, maxBytes)
	}
	if err != nil {
		return fmt.Errorf("read data file: %w", err)
	}
	data, err := server.LoadData(file, raw)
	if err != nil {
		return err
	}
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
	return nil
}

// readLimited reads a whole file of at most maxBytes; a larger one (or one
// without end, such as /dev/zero) is refused after maxBytes + 1 bytes.
func readLimited(name string, maxBytes int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(raw)) > maxBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes", name, errTooLarge, maxBytes)
	}
	return raw, nil
}

// errTooLarge says that a file is larger than the program reads.
var errTooLarge = errors.New("larger than the most read")

// listen opens the listener, with its connection caps, and the HTTP server
// that will serve srv on it.
func listen(ctx context.Context, o options, srv refServer, logger *slog.Logger) (*http.Server, *connLimit, error) {
	var tlsConfig *tls.Config
	if o.tls || o.tlsCert != "" {
		cert, err := serverCertificate(o, time.Now())
		if err != nil {
			return nil, nil, err
		}
		tlsConfig = serverTLSConfig(cert)
	}
	// Not cancelled by ctx: a signal during start-up ends in the graceful
	// shutdown, not in a listen error.
	var lc net.ListenConfig
	tcpListener, err := lc.Listen(context.WithoutCancel(ctx), "tcp", o.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	maxConnections := o.maxConnections
	if maxConnections == 0 {
		maxConnections = defaultMaxConnections(o.metricsMaxConns)
	}
	listener := newConnLimit(tcpListener, maxConnections, o.maxPerAddress, srv.RefuseConnection)
	srv.Metrics().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "refserver", Name: "connections_open", Help: "Connections open, of at most -max-connections.",
	}, func() float64 { return float64(listener.Open()) }))
	return &http.Server{
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
	}, listener, nil
}

// announce tells the person who started the server, on stdout, where it is
// and the secrets it made up, each shown once (logs never carry them), and
// logs the limits in force.
func announce(o options, srv refServer, cfg server.Config, made secrets, httpServer *http.Server, listener *connLimit, stdout, stderr io.Writer, logger *slog.Logger) {
	scheme := "http"
	if httpServer.TLSConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "Horizon reference server listening on %s://%s%s\n", scheme, listener.Addr(), server.BasePath)
	fmt.Fprintf(stdout, "The contract it enforces, for reading: %s://%s%s\n", scheme, listener.Addr(), srv.DocsPage())
	if httpServer.TLSConfig != nil {
		fmt.Fprintf(stdout, "TLS certificate SHA-256 fingerprint: %s\n", fingerprint(httpServer.TLSConfig.Certificates[0].Certificate[0]))
	}
	if made.token != "" {
		fmt.Fprintf(stdout, "Bearer token (generated; shown only here): %s\n", made.token)
	}
	if made.adminPassword != "" {
		fmt.Fprintf(stdout, "Login %s\\%s, password (generated; shown only here): %s\n",
			server.DemoAdminDomain, server.DemoAdminUsername, made.adminPassword)
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
		"max_body_bytes_in_flight", limits.MaxBodyBytesInFlight, "max_decode_bytes_in_flight", limits.MaxDecodeBytesInFlight,
		"max_requests_in_flight", limits.MaxRequestsInFlight, "max_message_length", limits.MaxMessageLength,
		"max_session_ids", limits.MaxSessionIDs, "max_recorded_messages", o.maxRecorded, "max_recorded_bytes", o.maxRecordedBytes,
		"max_connections", listener.max, "max_connections_per_address", listener.perAddress, "max_concurrent_streams", o.maxStreams,
		"max_header_bytes", o.maxHeaderBytes, "max_fault_rules", limits.MaxFaultRules,
		"login_throttle", !o.loginThrottle.Off, "fault_rules", len(cfg.Faults))
}

// serve serves until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, httpServer *http.Server, listener net.Listener, shutdownTimeout time.Duration, logger *slog.Logger) error {
	serveErr := make(chan error, 1)
	go func() {
		if httpServer.TLSConfig != nil {
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
	logger.Info("shutting down", "timeout", shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
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
	// slog's text format, written faster for the access log's flat lines.
	return slog.New(textlog.New(w, handlerOptions))
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
