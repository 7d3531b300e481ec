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
	"strings"
	"syscall"
	"time"

	"github.com/hzkit/sendmessage/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
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
	fs.Int64Var(&o.limits.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest request body accepted, in bytes (413 above)")
	fs.IntVar(&o.limits.MaxMessageLength, "max-message-length", 0, "longest message, in characters (0: the spec's maxLength)")
	fs.IntVar(&o.limits.MaxSessionIDs, "max-session-ids", 0, "most session ids in one request (0: the spec's maxItems)")
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 5*time.Second, "time allowed to read request headers")
	fs.DurationVar(&o.readTimeout, "read-timeout", 30*time.Second, "time allowed to read a whole request")
	fs.DurationVar(&o.writeTimeout, "write-timeout", 30*time.Second, "time allowed to write a response")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may finish after SIGINT or SIGTERM")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: DEBUG, INFO, WARN or ERROR")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
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
			errs = append(errs, fmt.Errorf("environment variable %s: %w", envName(f.Name), err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return o, fmt.Errorf("-log-format must be text or json, not %q", o.logFormat)
	}
	for name, d := range map[string]time.Duration{
		"read-header-timeout": o.readHeaderTimeout, "read-timeout": o.readTimeout,
		"write-timeout": o.writeTimeout, "idle-timeout": o.idleTimeout, "shutdown-timeout": o.shutdownTimeout,
	} {
		if d <= 0 {
			return o, fmt.Errorf("-%s must be positive, not %s", name, d)
		}
	}
	return o, nil
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
		sessions, err := server.LoadData(o.dataFile, data)
		if err != nil {
			return err
		}
		cfg.Store = server.NewMemoryStore(sessions)
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}

	listener, err := net.Listen("tcp", o.addr)
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
