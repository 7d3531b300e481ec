package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hzkit/sendmessage/client"
)

// Environment variables read when the matching flag is not given.
const (
	envServer   = "HORIZON_SERVER"
	envUsername = "HORIZON_USERNAME"
	envDomain   = "HORIZON_DOMAIN"
	envPassword = "HORIZON_PASSWORD"
	envToken    = "HORIZON_TOKEN"
)

// DefaultBatchSize keeps each request well within the reference server's
// default limit of session ids per request.
const defaultBatchSize = 1000

type options struct {
	listOnly bool // the "sessions" subcommand

	server, username, domain  string
	passwordFile, token       string
	caFile                    string
	insecure                  bool
	pool, user, machine       string
	state                     string
	all                       bool
	ids                       []string
	messageType               client.MessageType
	message                   string
	messageGiven              bool
	dryRun                    bool
	countdown, every          time.Duration
	batchSize, retries        int
	retryWait, requestTimeout time.Duration
	output, auditFile         string
}

// errUsage marks mistakes on the command line.
var errUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

const usageText = `Usage:
  sendmsg [flags] [SESSION_ID...]   send a message to Horizon sessions
  sendmsg sessions [flags]          list the sessions the target flags select

Targets (combinable; at least one): SESSION_ID arguments, --pool, --user,
--machine, --state, or --all. Filters are applied by the server.

The message comes from --message, or from standard input; "{minutes}" in it is
replaced by the minutes left when --countdown is used.

Exit status: 0 all delivered, 1 some sessions failed, 2 usage, authentication
or connection error.

Flags:
`

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	o := options{messageType: client.MessageInfo}
	if len(args) > 0 && args[0] == "sessions" {
		o.listOnly = true
		args = args[1:]
	}
	fs := flag.NewFlagSet("sendmsg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.server, "server", getenv(envServer), "Connection Server `URL`, e.g. https://horizon.example.com (env "+envServer+")")
	fs.StringVar(&o.username, "username", getenv(envUsername), "user to log in as (env "+envUsername+")")
	fs.StringVar(&o.domain, "domain", getenv(envDomain), "domain of the user (env "+envDomain+")")
	fs.StringVar(&o.passwordFile, "password-file", "", "read the password from `FILE` (else env "+envPassword+", else a prompt)")
	fs.StringVar(&o.token, "token", "", "use this access token instead of logging in (env "+envToken+")")
	fs.StringVar(&o.caFile, "ca-file", "", "trust the CA certificates in this PEM `FILE`")
	fs.BoolVar(&o.insecure, "insecure", false, "UNSAFE: do not verify the server's certificate")
	fs.StringVar(&o.pool, "pool", "", "sessions of this desktop pool `ID`")
	fs.StringVar(&o.user, "user", "", "sessions of this user `ID` (SID)")
	fs.StringVar(&o.machine, "machine", "", "sessions on this machine `ID`")
	fs.StringVar(&o.state, "state", "", "sessions in this `STATE`: CONNECTED, DISCONNECTED or PENDING")
	fs.BoolVar(&o.all, "all", false, "every session")
	fs.Func("type", "message `TYPE`: INFO, WARNING or ERROR (any case; default INFO)", func(s string) error {
		t := client.MessageType(strings.ToUpper(s))
		if !t.Valid() {
			return fmt.Errorf("want INFO, WARNING or ERROR, not %q", s)
		}
		o.messageType = t
		return nil
	})
	fs.Func("message", "the message `TEXT` (default: read standard input)", func(s string) error {
		o.message, o.messageGiven = s, true
		return nil
	})
	fs.BoolVar(&o.dryRun, "dry-run", false, "list the sessions that would be messaged; send nothing")
	fs.DurationVar(&o.countdown, "countdown", 0, "send now and again every --every until this `DURATION` has passed")
	fs.DurationVar(&o.every, "every", 0, "with --countdown: the `DURATION` between reminders")
	fs.IntVar(&o.batchSize, "batch-size", defaultBatchSize, "most session ids per request")
	fs.IntVar(&o.retries, "retries", 3, "retries of a request that could not connect or got a 5xx answer (never after 4xx or a timeout)")
	fs.DurationVar(&o.retryWait, "retry-wait", time.Second, "wait before the first retry; doubled for each next one")
	fs.DurationVar(&o.requestTimeout, "timeout", time.Minute, "time limit of each request")
	fs.StringVar(&o.output, "output", "table", "output `FORMAT`: table or json")
	fs.StringVar(&o.auditFile, "audit", "", "append one JSON line per session messaged to `FILE`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if o.token == "" {
		o.token = getenv(envToken)
	}
	o.ids = fs.Args()
	return o, o.check()
}

func (o *options) check() error {
	switch {
	case o.server == "":
		return usageError("--server (or %s) is required", envServer)
	case o.token == "" && (o.username == "" || o.domain == ""):
		return usageError("give --username and --domain to log in, or --token")
	case o.caFile != "" && o.insecure:
		return usageError("--ca-file and --insecure contradict each other")
	case o.output != "table" && o.output != "json":
		return usageError("--output must be table or json, not %q", o.output)
	case o.batchSize < 1:
		return usageError("--batch-size must be at least 1")
	case o.retries < 0:
		return usageError("--retries must not be negative")
	case o.retryWait <= 0 || o.requestTimeout <= 0:
		return usageError("--retry-wait and --timeout must be positive")
	case o.countdown < 0 || o.every < 0:
		return usageError("--countdown and --every must not be negative")
	case (o.countdown > 0) != (o.every > 0):
		return usageError("--countdown and --every go together")
	case o.every > o.countdown:
		return usageError("--every (%s) is longer than --countdown (%s)", o.every, o.countdown)
	case o.all && (len(o.ids) > 0 || o.hasFilter()):
		return usageError("--all cannot be combined with other targets")
	case !o.all && len(o.ids) == 0 && !o.hasFilter():
		return usageError("no target: give session ids, --pool, --user, --machine, --state or --all")
	case o.listOnly && len(o.ids) > 0:
		return usageError("sendmsg sessions takes no session ids")
	}
	if o.state != "" {
		o.state = strings.ToUpper(o.state)
		if !client.SessionState(o.state).Valid() {
			return usageError("--state must be CONNECTED, DISCONNECTED or PENDING, not %q", o.state)
		}
	}
	for _, id := range o.ids {
		if strings.TrimSpace(id) == "" {
			return usageError("empty session id")
		}
	}
	return nil
}

func (o *options) hasFilter() bool {
	return o.pool != "" || o.user != "" || o.machine != "" || o.state != ""
}
