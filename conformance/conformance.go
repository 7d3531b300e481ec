// Package conformance holds the contract in api/openapi.yaml against a live
// server: a Horizon Connection Server, or this module's reference server. It
// runs Horizon's operations (login, refresh, logout, listing and reading
// sessions, send-message) as a Horizon client would, checks every answer
// against the contract (status declared, headers, body schema) and what the
// contract says each request gets, and reports each check with the evidence
// of any difference. It is safe to run against a production server: it reads,
// and it sends messages only to session ids that cannot exist unless told to
// send one real message.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/api"
)

// Credentials are a Horizon login.
type Credentials struct {
	Username, Domain, Password string
}

// Config says which server to check and how.
type Config struct {
	// BaseURL is the API's base URL, /rest included, such as
	// https://horizon.example.com/rest.
	BaseURL string
	// HTTPClient sends the requests; nil means a plain client. Redirects are
	// never followed: an answer is held to the contract as it comes.
	HTTPClient *http.Client
	// Login, when not nil, logs in with these credentials and checks login,
	// refresh and logout too. Else Token is used, and those checks are
	// skipped.
	Login *Credentials
	// Token is an access token to use instead of logging in.
	Token string
	// SendTo, when not empty, is a session that is sent one real message,
	// SendText (a default text when empty). Nothing else is ever delivered.
	SendTo, SendText string
	// MaxBodyBytes is the largest request body the server takes (the
	// reference server's -max-body-bytes): the oversized body is one byte
	// more. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Pace is the least time from one request to the next.
	Pace time.Duration
	// Timeout bounds each request; 0 means a minute.
	Timeout time.Duration
	// Contract is the spec answers are held to; nil means the embedded
	// api/openapi.yaml.
	Contract *openapi3.T
	// OtherSpecs are held against every answer too, such as Horizon's own.
	OtherSpecs []Spec
}

// DefaultMaxBodyBytes is the reference server's default -max-body-bytes.
const DefaultMaxBodyBytes = 1 << 20

// DefaultSendText is the text of the one real message of Config.SendTo.
const DefaultSendText = "Conformance check of the Horizon API: please ignore this message."

// Outcome is the result of one check.
type Outcome string

// The outcomes of a check.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// Result is one check: what it sent, and what differed from the contract.
type Result struct {
	Check string `json:"check"`
	// Operation is the contract's operationId.
	Operation string  `json:"operation"`
	Outcome   Outcome `json:"result"`
	// Requests are the requests the check sent, as METHOD /path?query
	// relative to the base URL.
	Requests []string `json:"requests,omitempty"`
	// Differences are the evidence of a failure, one line each.
	Differences []string `json:"differences,omitempty"`
	// Extra names answer fields that the contract does not declare, such
	// as a newer Horizon sends. They are not failures.
	Extra []string `json:"extra_fields,omitempty"`
	// Note says why a check was skipped, or what it saw.
	Note     string        `json:"note,omitempty"`
	Duration time.Duration `json:"-"`
	Millis   int64         `json:"duration_ms"`
}

// Report is a whole run.
type Report struct {
	Server          string        `json:"server"`
	ContractVersion string        `json:"contract_version"`
	OtherSpecs      []string      `json:"other_specs,omitempty"`
	Started         time.Time     `json:"started"`
	Duration        time.Duration `json:"-"`
	Millis          int64         `json:"duration_ms"`
	Passed          int           `json:"passed"`
	Failed          int           `json:"failed"`
	Skipped         int           `json:"skipped"`
	Results         []Result      `json:"checks"`
}

// ErrCannotRun marks a run that could not check the server: it could not be
// reached, or refused the credentials or the token.
var ErrCannotRun = errors.New("cannot run")

// Run checks the server of cfg. It returns a report of every check it ran;
// the error, when not nil, is ErrCannotRun or ctx's, and the report then
// holds the checks done before.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	err = r.run(ctx)
	r.endLogin(ctx)
	return r.finish(), err
}

// endLogin logs out a login that the run did not get to end, as when it was
// interrupted: no login of it outlives it.
func (r *runner) endLogin(ctx context.Context) {
	if r.refresh == "" || r.loggedOut {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	r.logout(ctx, r.start("", opLogout), r.refresh)
}

func (r *runner) run(ctx context.Context) error {
	if r.cfg.Login != nil {
		if err := r.checkLogin(ctx); err != nil {
			return err
		}
		r.checkWrongPassword(ctx)
		r.checkPasswordArray(ctx)
	} else {
		r.access = r.cfg.Token
	}
	if err := r.checkListAll(ctx); err != nil {
		return err
	}
	steps := []func(context.Context){
		r.checkPaging, r.checkPagingRefusals, r.checkFilters, r.checkGet,
		r.checkSendUnknown, r.checkSendReal, r.checkRefusals,
	}
	if r.cfg.Login != nil {
		steps = append(steps, r.checkRefreshAndLogout)
	} else {
		steps = append(steps, r.skipAuth)
	}
	for _, step := range steps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		step(ctx)
	}
	return ctx.Err()
}

func newRunner(cfg Config) (*runner, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("conformance: no base URL")
	}
	if cfg.Login == nil && cfg.Token == "" {
		return nil, errors.New("conformance: neither credentials nor a token")
	}
	if cfg.Contract == nil {
		doc, err := api.Load()
		if err != nil {
			return nil, err
		}
		cfg.Contract = doc
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.SendText == "" {
		cfg.SendText = DefaultSendText
	}
	hc := http.Client{}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r := &runner{cfg: cfg, http: &hc, baseURL: strings.TrimRight(cfg.BaseURL, "/"), started: time.Now()}
	if cfg.Login != nil {
		r.secrets = append(r.secrets, cfg.Login.Password)
	}
	r.secrets = append(r.secrets, cfg.Token)
	r.report = &Report{Server: r.baseURL, ContractVersion: cfg.Contract.Info.Version, Started: r.started}
	for _, s := range cfg.OtherSpecs {
		r.report.OtherSpecs = append(r.report.OtherSpecs, s.Name)
	}
	return r, nil
}

// finish counts the results and takes every secret out of them.
func (r *runner) finish() *Report {
	rep := r.report
	rep.Duration = time.Since(r.started)
	rep.Millis = rep.Duration.Milliseconds()
	rep.Passed, rep.Failed, rep.Skipped = 0, 0, 0
	for i := range rep.Results {
		res := &rep.Results[i]
		res.Millis = res.Duration.Milliseconds()
		res.Note = r.redact(res.Note)
		for j := range res.Differences {
			res.Differences[j] = r.redact(res.Differences[j])
		}
		for j := range res.Requests {
			res.Requests[j] = r.redact(res.Requests[j])
		}
		switch res.Outcome {
		case Pass:
			rep.Passed++
		case Fail:
			rep.Failed++
		case Skip:
			rep.Skipped++
		}
	}
	return rep
}

// redact replaces every secret the run knows in s.
func (r *runner) redact(s string) string {
	for _, secret := range r.secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[secret]")
		}
	}
	return s
}

// cannotRun is ErrCannotRun with what happened.
func cannotRun(format string, args ...any) error {
	return &runError{msg: fmt.Sprintf(format, args...)}
}

// noAnswer is ErrCannotRun because a request got no answer: cause says why
// (a refused connection, a certificate not trusted...).
func noAnswer(what string, cause error) error {
	if cause == nil {
		return &runError{msg: what + ": no answer"}
	}
	return &runError{msg: fmt.Sprintf("%s: %v", what, cause), cause: cause}
}

type runError struct {
	msg   string
	cause error
}

func (e *runError) Error() string { return ErrCannotRun.Error() + ": " + e.msg }
func (e *runError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrCannotRun}
	}
	return []error{ErrCannotRun, e.cause}
}
