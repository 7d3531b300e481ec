// Command conform runs this module's Horizon contract against a server, a
// Connection Server or the reference server, and reports where its answers
// differ. It reads, and sends messages only to session ids that cannot
// exist, unless --send-to and --confirm-send ask for one real message.
package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/conformance"
	"github.com/hzkit/sendmessage/internal/connflags"
)

// Exit statuses.
const (
	exitConforms    = 0   // every check passed (or was skipped)
	exitDiffers     = 1   // some check found a difference
	exitCannotRun   = 2   // usage error, or the server could not be checked
	exitInterrupted = 130 // Ctrl-C
)

const usageText = `conform checks a Horizon server against this module's contract (api/openapi.yaml):
login, a wrong password, refresh and logout; listing sessions with paging and
every filter type; reading a session; send-message to ids that cannot exist;
and the refusals of a request without a token, with a bad body, the wrong
content type or an oversized body. Every answer is held to the contract:
its status, headers and body.

It is safe against a production server: it reads, paced, and messages only
session ids that cannot exist, unless --send-to ID and --confirm-send ask for
one real message. It logs in once with a wrong password, which counts as one
failed login of the account. Tokens and the password are never printed.

Usage:
  conform [flags]

Flags:
%s
Exit status: 0 every check passed (skipped ones aside); 1 some answer differs
from the contract (the table says which, and how); 2 usage error, or the
server could not be checked (not reached, the login or the token refused).

Examples:
  conform --server http://127.0.0.1:8080 --username administrator --domain EXAMPLE
  HORIZON_CACERT=horizon-ca.pem conform --server https://horizon.example.com \
    --username svc-horizon --domain CORP --json conform.json --junit conform.xml
`

type options struct {
	connflags.Settings
	specs        []string
	jsonFile     string
	junitFile    string
	sendTo       string
	confirmSend  bool
	pace         time.Duration
	maxBodyBytes int64
	help         bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageErr is a mistake on the command line.
type usageErr struct{ error }

func (e usageErr) Unwrap() error { return e.error }

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, fs, err := parse(args, getenv)
	if o != nil && o.help {
		fmt.Fprintf(stdout, usageText, fs.FlagUsagesWrapped(80))
		return exitConforms
	}
	if err != nil {
		fmt.Fprintf(stderr, "conform: %v\nRun 'conform --help' for usage.\n", err)
		return exitCannotRun
	}
	cfg, err := configure(o, getenv, stdin, stderr)
	if err != nil {
		var usage usageErr
		if errors.As(err, &usage) || errors.Is(err, connflags.ErrUsage) {
			fmt.Fprintf(stderr, "conform: %v\nRun 'conform --help' for usage.\n", err)
		} else {
			fmt.Fprintf(stderr, "conform: %v\n", err)
		}
		return exitCannotRun
	}
	if o.Insecure {
		fmt.Fprintln(stderr, "conform: "+connflags.InsecureWarning)
	}
	rep, runErr := conformance.Run(ctx, cfg)
	if rep != nil {
		// A run that could not start has its reason on stderr, and a
		// table of one check on stdout would only repeat it.
		if err := write(o, rep, stdout, runErr == nil); err != nil {
			fmt.Fprintf(stderr, "conform: %v\n", err)
			return exitCannotRun
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "conform: interrupted")
		return exitInterrupted
	case runErr != nil:
		fmt.Fprintf(stderr, "conform: %v\n", runErr)
		if hint := hintFor(runErr, o); hint != "" {
			fmt.Fprintln(stderr, hint)
		}
		return exitCannotRun
	case rep.Failed > 0:
		return exitDiffers
	}
	return exitConforms
}

// parse reads the command line and the environment.
func parse(args []string, getenv func(string) string) (*options, *pflag.FlagSet, error) {
	o := &options{}
	fs := pflag.NewFlagSet("conform", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard) // errors are printed once, by run
	o.AddFlags(fs)
	fs.StringArrayVar(&o.specs, "spec", nil, "also hold every answer to this OpenAPI 3 or Swagger 2.0 `FILE`, such as Horizon's own (repeatable)")
	fs.StringVar(&o.jsonFile, "json", "", "write the report as JSON to `FILE` (- for standard output, instead of the table)")
	fs.StringVar(&o.junitFile, "junit", "", "write the report as JUnit XML to `FILE`, for CI")
	fs.StringVar(&o.sendTo, "send-to", "", "also send one real message to this session `ID` (needs --confirm-send)")
	fs.BoolVar(&o.confirmSend, "confirm-send", false, "yes, --send-to may show a message to that session's user")
	fs.DurationVar(&o.pace, "pace", 50*time.Millisecond, "least `DURATION` between two requests")
	fs.Int64Var(&o.maxBodyBytes, "max-body-bytes", conformance.DefaultMaxBodyBytes, "the largest request body the server takes, in `BYTES`: the oversized body is one more (the reference server's -max-body-bytes)")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return o, fs, err
	}
	if o.help {
		return o, fs, nil
	}
	if fs.NArg() > 0 {
		return o, fs, fmt.Errorf("conform takes no arguments, only flags: %q", fs.Arg(0))
	}
	o.FromEnv(fs, getenv)
	return o, fs, o.check()
}

func (o *options) check() error {
	if err := o.Check(); err != nil {
		return err
	}
	switch {
	case o.sendTo != "" && !o.confirmSend:
		return errors.New("--send-to shows a real message to the user of that session: add --confirm-send to do so")
	case o.confirmSend && o.sendTo == "":
		return errors.New("--confirm-send goes with --send-to ID")
	case o.pace < 0:
		return errors.New("--pace must not be negative")
	case o.maxBodyBytes < 1:
		return errors.New("--max-body-bytes must be positive")
	}
	return nil
}

// configure turns the options into the run's configuration: the server's
// base URL, the HTTP client, the password, the other specs.
func configure(o *options, getenv func(string) string, stdin io.Reader, stderr io.Writer) (conformance.Config, error) {
	// The client package knows how a server's address becomes the API's.
	probe, err := client.New(o.Server)
	if err != nil {
		return conformance.Config{}, usageErr{fmt.Errorf("--server: %s", strings.TrimPrefix(err.Error(), client.ErrInvalidInput.Error()+": "))}
	}
	httpClient, err := o.HTTPClient()
	if err != nil {
		return conformance.Config{}, err
	}
	cfg := conformance.Config{
		BaseURL: probe.BaseURL(), HTTPClient: httpClient, Token: o.Token,
		SendTo: o.sendTo, MaxBodyBytes: o.maxBodyBytes, Pace: o.pace, Timeout: o.Timeout,
	}
	for _, path := range o.specs {
		spec, err := conformance.LoadSpec(path)
		if err != nil {
			return conformance.Config{}, err
		}
		cfg.OtherSpecs = append(cfg.OtherSpecs, spec)
	}
	if o.Token == "" {
		password, err := o.Password(getenv, stdin, stderr)
		if err != nil {
			return conformance.Config{}, err
		}
		cfg.Login = &conformance.Credentials{Username: o.Username, Domain: o.Domain, Password: password}
	}
	return cfg, nil
}

// write writes the report where the options ask: the table (or the JSON) on
// stdout when show, and the JSON and JUnit files.
func write(o *options, rep *conformance.Report, stdout io.Writer, show bool) error {
	switch {
	case !show:
	case o.jsonFile == "-":
		if err := rep.WriteJSON(stdout); err != nil {
			return err
		}
	default:
		if err := rep.WriteTable(stdout); err != nil {
			return err
		}
	}
	if o.jsonFile != "" && o.jsonFile != "-" {
		if err := writeFile(o.jsonFile, rep.WriteJSON); err != nil {
			return err
		}
	}
	if o.junitFile != "" {
		if err := writeFile(o.junitFile, rep.WriteJUnit); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes a report to path.
func writeFile(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil { //nolint:gosec // G306: a report, as readable as any other file
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// hintFor says what to do about a run that could not start, when there is
// something to do.
func hintFor(err error, o *options) string {
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.As(err, &unknownCA):
		return "The server's certificate is not signed by an authority this computer trusts: give it with --ca-file FILE (or " +
			connflags.EnvCACert + "); for the reference server, that is the file its -tls-cert-out writes."
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Nothing answers at " + strings.TrimSuffix(o.Server, "/") + ": is the server running, and is --server right?"
	}
	return ""
}
