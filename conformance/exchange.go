package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxAnswerBytes bounds how much of an answer is read.
const maxAnswerBytes = 64 << 20

// runner runs the checks of one Config, one after another.
type runner struct {
	cfg     Config
	http    *http.Client
	baseURL string
	started time.Time
	report  *Report
	// secrets are taken out of every line of the report.
	secrets []string
	// lastRequest paces the requests.
	lastRequest time.Time
	// access and refresh are the tokens of the login (access: or Token).
	access, refresh string
	// sessions are the server's sessions as the full listing answered them.
	sessions []map[string]any
	// listed says the full listing worked; checks that compare with it
	// are skipped when it did not.
	listed bool
	// loggedOut says the run's login was ended.
	loggedOut bool
}

// request is one request of a check.
type request struct {
	op    string // the contract's operationId
	path  string // relative to the base URL, parameters filled in
	query url.Values
	body  []byte
	token string // sent as a bearer token when not empty
	// contentType of body; application/json when empty.
	contentType string
}

// answer is a server's answer.
type answer struct {
	status int
	header http.Header
	body   []byte
	json   any // the body decoded, numbers as json.Number; nil when not JSON
}

// check is one check being run.
type check struct {
	r   *runner
	res Result
	// err is why the last request got no answer.
	err error
	// statuses are those of the answers, in order.
	statuses []int
}

// start begins a check of the operation op.
func (r *runner) start(name, op string) *check {
	return &check{r: r, res: Result{Check: name, Operation: op}}
}

// differ adds a difference to c.
func (c *check) differ(format string, args ...any) {
	c.res.Differences = append(c.res.Differences, fmt.Sprintf(format, args...))
}

// skip ends c as skipped, saying why.
func (c *check) skip(why string) {
	c.res.Outcome = Skip
	c.res.Note = why
	c.r.report.Results = append(c.r.report.Results, c.res)
}

// done ends c: failed with any difference, else passed, and then noted
// with the statuses it got unless it has a note of its own.
func (c *check) done() {
	c.res.Outcome = Pass
	if len(c.res.Differences) > 0 {
		c.res.Outcome = Fail
	}
	if c.res.Note == "" && len(c.statuses) > 0 {
		c.res.Note = "answered " + statuses(c.statuses)
	}
	c.r.report.Results = append(c.r.report.Results, c.res)
}

// send sends req, holds the answer to the contract and the other specs, and
// to the statuses of want. It returns nil, with a difference, when no
// answer came.
func (c *check) send(ctx context.Context, req request, want ...int) *answer {
	start := time.Now()
	defer func() { c.res.Duration += time.Since(start) }()
	op, err := findOperation(c.r.cfg.Contract, req.op)
	if err != nil {
		c.differ("%v", err)
		return nil
	}
	httpReq, a, err := c.r.exchange(ctx, op, req)
	c.res.Requests = append(c.res.Requests, describeRequest(op, req))
	if err != nil {
		c.err = err
		c.differ("%s: no answer: %v", req.op, err)
		return nil
	}
	c.statuses = append(c.statuses, a.status)
	if len(want) > 0 && !slices.Contains(want, a.status) {
		c.differ("%s answered %d, want %s%s", req.op, a.status, wanted(want), reasonOf(a))
	}
	for _, d := range collapse(op.check(httpReq, a)) {
		c.differ("%s %d: %s", req.op, a.status, d)
	}
	for _, extra := range op.extraFields(a) {
		if !slices.Contains(c.res.Extra, extra) {
			c.res.Extra = append(c.res.Extra, extra)
		}
	}
	for _, spec := range c.r.cfg.OtherSpecs {
		other := matchOperation(spec.Doc, op.route.Method, op.route.Path)
		if other == nil {
			c.differ("%s: %s has no %s %s", spec.Name, spec.Name, op.route.Method, op.route.Path)
			continue
		}
		for _, d := range collapse(other.check(httpReq, a)) {
			c.differ("%s: %s %d: %s", spec.Name, req.op, a.status, d)
		}
	}
	return a
}

// exchange sends one request, paced, and reads its answer.
func (r *runner) exchange(ctx context.Context, op *operation, req request) (*http.Request, *answer, error) {
	if err := r.pace(ctx); err != nil {
		return nil, nil, err
	}
	target := r.baseURL + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	httpReq, err := http.NewRequestWithContext(ctx, op.route.Method, target, body)
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	httpReq.Header.Set("Accept", "application/json")
	httpReq.Header.Set("User-Agent", "hzkit-conform/"+r.cfg.Contract.Info.Version)
	if req.body != nil {
		ct := req.contentType
		if ct == "" {
			ct = "application/json"
		}
		httpReq.Header.Set("Content-Type", ct)
	}
	if req.token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+req.token)
	}
	resp, err := r.http.Do(httpReq)
	r.lastRequest = time.Now()
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("read the answer: %w", err)
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: data}
	if mediaType, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil && mediaType == "application/json" {
		decoder := json.NewDecoder(bytes.NewReader(data))
		decoder.UseNumber()
		var v any
		if decoder.Decode(&v) == nil {
			a.json = v
		}
	}
	return httpReq, a, nil
}

// pace waits until Pace has passed since the last request.
func (r *runner) pace(ctx context.Context) error {
	wait := time.Until(r.lastRequest.Add(r.cfg.Pace))
	if r.lastRequest.IsZero() || wait <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// describeRequest writes a request as the report shows it.
func describeRequest(op *operation, req request) string {
	s := op.route.Method + " " + req.path
	if len(req.query) > 0 {
		s += "?" + req.query.Encode()
	}
	// Only send-message bodies are shown: the others carry a password or
	// a token.
	switch {
	case len(req.body) > 200:
		s += fmt.Sprintf(" (%d-byte body)", len(req.body))
	case req.body != nil && req.op == opSend:
		s += " " + string(req.body)
	}
	if op.protected() && req.token == "" {
		s += " (no token)"
	}
	return s
}

// arrayIndex is an index in a JSON pointer.
var arrayIndex = regexp.MustCompile(`/[0-9]+(/|:)`)

// collapse words the same difference of many array items once: /*/ for
// the index, and how many items have it.
func collapse(differences []string) []string {
	var order []string
	count := map[string]int{}
	for _, d := range differences {
		d = arrayIndex.ReplaceAllString(d, "/*$1")
		if count[d] == 0 {
			order = append(order, d)
		}
		count[d]++
	}
	for i, d := range order {
		if count[d] > 1 {
			order[i] = fmt.Sprintf("%s (%d items)", d, count[d])
		}
	}
	return order
}

// statuses writes codes as "200", "200 or 401", "200, 200 and 401".
func statuses(codes []int) string {
	parts := make([]string, len(codes))
	for i, code := range codes {
		parts[i] = strconv.Itoa(code)
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func wanted(want []int) string {
	parts := make([]string, len(want))
	for i, code := range want {
		parts[i] = strconv.Itoa(code)
	}
	return strings.Join(parts, " or ")
}

// reasonOf is the server's own reason in an error answer, if it gave one.
func reasonOf(a *answer) string {
	if body, ok := a.json.(map[string]any); ok {
		if msg, ok := body["error_message"].(string); ok && msg != "" {
			return fmt.Sprintf(" (%q)", msg)
		}
	}
	return ""
}

// jsonBody encodes v; it cannot fail for the values the checks build.
func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("conformance: encode a request body: %v", err)) // a programming error
	}
	return b
}

// newID is a random UUID (version 4): an id no server has.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
