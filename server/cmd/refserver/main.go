// Command refserver is the Horizon Send Message To Sessions reference server:
// deploy it where a Horizon Connection Server would be, point your tools at it,
// and read back what was delivered.
package main

import (
	"context"
	"crypto/rand"
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
		os.Exit(2)
	}
}

// envPrefix names the environment variable of each flag: -max-body-bytes is
// REFSERVER_MAX_BODY_BYTES. A flag on the command line wins over its variable.
const envPrefix = "REFSERVER_"

type options struct {
	addr              string
	token             string
	dataFile          string
	limits            server.Limits
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	shutdownTimeout   time.Duration
	logLevel          slog.Level
	logFormat         string
}

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("refserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (host:port)")
	fs.StringVar(&o.token, "token", "", "the accepted bearer token; when empty a random one is generated and printed once")
	fs.StringVar(&o.dataFile, "data", "", `JSON data file {"sessions": [...]} replacing the built-in demo sessions`)
	o.limits.MaxBodyBytes = server.DefaultMaxBodyBytes
	fs.Var(nonNegative[int64]{&o.limits.MaxBodyBytes}, "max-body-bytes", "largest request body accepted, in `bytes` (413 above)")
	fs.Var(nonNegative[int]{&o.limits.MaxMessageLength}, "max-message-length", "longest message, in `characters` (0: the spec's maxLength)")
	fs.Var(nonNegative[int]{&o.limits.MaxSessionIDs}, "max-session-ids", "most session ids in one request, a `count` (0: the spec's maxItems)")
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
	return o, nil
}

// Flag values that refuse bad input, so that a flag and its environment
// variable are checked alike.
type (
	nonNegative[T int | int64] struct{ p *T }
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
// gracefully. stdout gets the address and a generated token; stderr the logs.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(o, stderr)

	cfg := server.Config{Token: o.token, Limits: o.limits, Logger: logger}
	generatedToken := cfg.Token == ""
	if generatedToken {
		if cfg.Token, err = randomToken(); err != nil {
			return err
		}
	}
	if o.dataFile != "" {
		data, err := os.ReadFile(o.dataFile)
		if err != nil {
			return fmt.Errorf("read data file: %w", err)
		}
		loaded, err := server.LoadData(o.dataFile, data)
		if err != nil {
			return err
		}
		cfg.Store = server.NewMemoryStore(loaded.Sessions)
		if loaded.Users != nil {
			cfg.Users = *loaded.Users
		}
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}

	// Not cancelled by ctx: a signal during start-up ends in the graceful
	// shutdown below, not in a listen error.
	var lc net.ListenConfig
	listener, err := lc.Listen(context.WithoutCancel(ctx), "tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: o.readHeaderTimeout,
		ReadTimeout:       o.readTimeout,
		WriteTimeout:      o.writeTimeout,
		IdleTimeout:       o.idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	fmt.Fprintf(stdout, "Horizon reference server listening on http://%s%s\n", listener.Addr(), server.BasePath)
	if generatedToken {
		fmt.Fprintf(stdout, "Bearer token (generated; shown only here): %s\n", cfg.Token)
	}
	limits := srv.Limits()
	logger.Info("serving", "addr", listener.Addr().String(), "data", dataSource(o.dataFile),
		"max_body_bytes", limits.MaxBodyBytes, "max_message_length", limits.MaxMessageLength,
		"max_session_ids", limits.MaxSessionIDs)

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(listener) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", o.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
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
