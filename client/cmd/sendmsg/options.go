package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/internal/connflags"
)

// Environment variables read when the matching flag is not given.
const (
	envServer   = connflags.EnvServer
	envUsername = connflags.EnvUsername
	envDomain   = connflags.EnvDomain
	envPassword = connflags.EnvPassword
	envToken    = connflags.EnvToken
	envCACert   = connflags.EnvCACert
)

// DefaultBatchSize keeps each request well within the reference server's
// default limit of session ids per request.
const defaultBatchSize = 1000

type options struct {
	listOnly bool // the "sessions" subcommand

	// The connection flags, which conform shares; Timeout is --timeout.
	connflags.Settings
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
	retryWait, retryMaxWait   time.Duration
	output, auditFile         string
	messageTypeText, stateArg string
}

// errUsage marks mistakes on the command line.
var errUsage = errors.New("usage")

// usageErr is a mistake on the command line of the command cmd.
type usageErr struct {
	cmd string // "sendmsg" or "sendmsg sessions", for the pointer to --help
	err error
}

func (e *usageErr) Error() string        { return e.err.Error() }
func (e *usageErr) Unwrap() error        { return e.err }
func (e *usageErr) Is(target error) bool { return target == errUsage }

func usageError(format string, args ...any) error {
	return &usageErr{cmd: "sendmsg", err: fmt.Errorf(format, args...)}
}

// Flag groups, as --help shows them.
const (
	groupAnnotation = "sendmsg/group"
	groupConnection = "Connection"
	groupTargets    = "Target"
	groupMessage    = "Message"
	groupOutput     = "Output"
)

// flagGroups is the order of the groups in --help.
var flagGroups = []string{groupConnection, groupTargets, groupMessage, groupOutput}

func inGroup(fs *pflag.FlagSet, group string, names ...string) {
	for _, name := range names {
		if err := fs.SetAnnotation(name, groupAnnotation, []string{group}); err != nil {
			panic(err) // a flag named here and not defined: a programming error
		}
	}
}

// addConnectionFlags defines how to reach and log in to the server, and how
// hard to try.
func addConnectionFlags(fs *pflag.FlagSet, o *options) {
	o.AddFlags(fs)
	fs.IntVar(&o.retries, "retries", 3, "at most `N` retries of a request that failed on the way (see Retries in sendmsg --help)")
	fs.DurationVar(&o.retryWait, "retry-wait", time.Second, "`DURATION` before the first retry; about doubled for each next one")
	fs.DurationVar(&o.retryMaxWait, "retry-max-wait", 30*time.Second, "longest `DURATION` to wait before a retry, the server's Retry-After included")
	inGroup(fs, groupConnection, append(connflags.Names(), "retries", "retry-wait", "retry-max-wait")...)
}

// addTargetFlags defines the filters that select sessions.
func addTargetFlags(fs *pflag.FlagSet, o *options) {
	fs.StringVar(&o.pool, "pool", "", "sessions of this desktop pool `ID`")
	fs.StringVar(&o.user, "user", "", "sessions of this user `SID`")
	fs.StringVar(&o.machine, "machine", "", "sessions on this machine `ID`")
	fs.StringVar(&o.stateArg, "state", "", "sessions in this `STATE`: CONNECTED, DISCONNECTED or PENDING")
	fs.BoolVar(&o.all, "all", false, "every session")
	inGroup(fs, groupTargets, "pool", "user", "machine", "state", "all")
}

// addMessageFlags defines what is sent, and when.
func addMessageFlags(fs *pflag.FlagSet, o *options) {
	fs.StringVar(&o.messageTypeText, "type", "INFO", "message `TYPE`: INFO, WARNING or ERROR, in any case")
	fs.Func("message", "the message `TEXT` (default: read standard input)", func(s string) error {
		o.message, o.messageGiven = s, true
		return nil
	})
	fs.BoolVar(&o.dryRun, "dry-run", false, "list the sessions that would be messaged; send nothing")
	fs.DurationVar(&o.countdown, "countdown", 0, "send now and again every --every until this `DURATION` has passed")
	fs.DurationVar(&o.every, "every", 0, "with --countdown: the `DURATION` between reminders")
	fs.IntVar(&o.batchSize, "batch-size", defaultBatchSize, "at most `N` session ids per request")
	inGroup(fs, groupMessage, "type", "message", "dry-run", "countdown", "every", "batch-size")
}

// addOutputFlags defines how results are shown; audit only when sending.
func addOutputFlags(fs *pflag.FlagSet, o *options, audit bool) {
	fs.StringVar(&o.output, "output", "table", "output `FORMAT`: table or json")
	inGroup(fs, groupOutput, "output")
	if audit {
		fs.StringVar(&o.auditFile, "audit", "", "append one JSON line per session messaged to `FILE`")
		inGroup(fs, groupOutput, "audit")
	}
}

// check reads the values that need reading and refuses what cannot work.
func (o *options) check() error {
	o.messageType = client.MessageType(strings.ToUpper(o.messageTypeText))
	o.state = strings.ToUpper(o.stateArg)
	if err := o.checkConnection(); err != nil {
		return err
	}
	switch {
	case !o.listOnly && !o.messageType.Valid():
		return usageError("--type must be INFO, WARNING or ERROR, not %q", o.messageTypeText)
	case o.state != "" && !client.SessionState(o.state).Valid():
		return usageError("--state must be CONNECTED, DISCONNECTED or PENDING, not %q", o.stateArg)
	case o.output != "table" && o.output != "json":
		return usageError("--output must be table or json, not %q", o.output)
	case o.batchSize < 1:
		return usageError("--batch-size must be at least 1")
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
	}
	for _, id := range o.ids {
		if strings.TrimSpace(id) == "" {
			return usageError("empty session id")
		}
	}
	return nil
}

// checkConnection refuses connection and retry flags that cannot work.
func (o *options) checkConnection() error {
	if err := o.Check(); err != nil {
		return &usageErr{cmd: "sendmsg", err: err}
	}
	switch {
	case o.retries < 0:
		return usageError("--retries must not be negative")
	case o.retryWait <= 0:
		return usageError("--retry-wait must be positive")
	case o.retryMaxWait < o.retryWait:
		return usageError("--retry-max-wait (%s) is shorter than --retry-wait (%s)", o.retryMaxWait, o.retryWait)
	}
	return nil
}

func (o *options) hasFilter() bool {
	return slices.ContainsFunc(o.targetFilters(), func(f targetFilter) bool { return f.want != "" })
}
