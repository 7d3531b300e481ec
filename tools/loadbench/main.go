// Command loadbench is the load benchmark behind `make bench`: it starts the
// reference server, two echo baselines (tools/benchbaseline: "baseline" with
// the reference server's headers and timeouts, and "bare", default echo with
// neither) and, when given, a Prism mock of the same spec, all on 127.0.0.1,
// drives each with wrk in interleaved rounds (A B A B ...), and prints one
// table with the medians and the ratios of the reference server to each
// baseline. A second table sends single large requests to show time and
// memory per id.
//
// It starts and stops every process it uses and ends by itself (-timeout).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
)

const (
	sendPath = "/inventory/v1/sessions/action/send-message"
	token    = "loadbench-token"
	message  = "This desktop restarts in 15 minutes. Please save your work."
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

type config struct {
	refserver, baseline, prism, wrk, spec string
	rounds, conns, faults                 int
	duration, warmup, timeout, clearEvery time.Duration
	ids, large                            []int
}

func parseConfig(args []string) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.StringVar(&c.refserver, "refserver", "bin/refserver", "reference server binary")
	fs.StringVar(&c.baseline, "baseline", "bin/benchbaseline", "bare echo baseline binary")
	fs.StringVar(&c.prism, "prism", "", "Prism CLI (node_modules/.bin/prism); empty: no Prism")
	fs.StringVar(&c.spec, "spec", "api/openapi.yaml", "the spec Prism mocks")
	fs.StringVar(&c.wrk, "wrk", "wrk", "wrk binary")
	fs.IntVar(&c.rounds, "rounds", 3, "interleaved rounds per scenario")
	fs.IntVar(&c.conns, "connections", 32, "wrk connections")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "length of one wrk run (whole seconds)")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "wrk warm-up per server and scenario, not measured; 0: none")
	fs.DurationVar(&c.timeout, "timeout", 9*time.Minute, "the whole run ends by then, finished or not")
	fs.IntVar(&c.faults, "faults", 0, "also run a refserver (\"refserver+faults\") whose data file has this many fault rules, none of which matches the benchmark's requests: what rules that do not match cost; 0: none")
	fs.DurationVar(&c.clearEvery, "clear-record-every", 0, "what-if: empty the refserver's record of deliveries this often during a run, as a bounded record would keep it small; 0: never")
	ids := fs.String("ids", "1,1000", "ids per request of the load scenarios")
	large := fs.String("large", "25000,50000,100000", "ids of the single large requests; empty: none")
	smoke := fs.Bool("smoke", false, "a short run that checks the harness works: 1 round of 1s, no warm-up, no Prism, no large requests")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.ids, err = parseInts(*ids); err != nil {
		return c, fmt.Errorf("-ids: %w", err)
	}
	if c.large, err = parseInts(*large); err != nil {
		return c, fmt.Errorf("-large: %w", err)
	}
	if *smoke {
		c.rounds, c.duration, c.warmup, c.prism, c.large = 1, time.Second, 0, "", nil
	}
	if c.rounds < 1 || c.conns < 1 || c.duration < time.Second || len(c.ids) == 0 || c.faults < 0 {
		return c, errors.New("want -rounds >= 1, -connections >= 1, -duration >= 1s, some -ids and -faults >= 0")
	}
	return c, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parseConfig(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for _, bin := range []string{c.refserver, c.baseline} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("binary missing (make bench builds it): %w", err)
		}
	}
	if _, err := exec.LookPath(c.wrk); err != nil {
		return fmt.Errorf("wrk: %w (Debian: apt-get install wrk)", err)
	}
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	pin, pinNote := findPin()

	printHeader(stdout, c, pinNote, args)
	if err := loadScenarios(ctx, c, dir, pin, stdout); err != nil {
		return err
	}
	if len(c.large) > 0 {
		if err := largeRequests(ctx, c, dir, pin, stdout); err != nil {
			return err
		}
	}
	return nil
}

// server is one kind of server under test and how to start it.
type server struct {
	name  string
	path  string // where its send-message route is
	start func(ctx context.Context, port int, dataFile string) (*process, error)
}

func servers(c config, dir string, pin *cpuPin, extraRefArgs ...string) []server {
	out := []server{
		{name: "refserver", path: "/rest" + sendPath, start: func(ctx context.Context, port int, data string) (*process, error) {
			args := append([]string{c.refserver, "-addr", "127.0.0.1:" + strconv.Itoa(port), "-data", data}, extraRefArgs...)
			return start(ctx, dir, "refserver", pin, port, []string{"REFSERVER_TOKEN=" + token}, args...)
		}},
		{name: "baseline", path: "/rest" + sendPath, start: func(ctx context.Context, port int, data string) (*process, error) {
			return start(ctx, dir, "baseline", pin, port, nil, c.baseline, "-addr", "127.0.0.1:"+strconv.Itoa(port), "-data", data)
		}},
		{name: "bare", path: "/rest" + sendPath, start: func(ctx context.Context, port int, data string) (*process, error) {
			return start(ctx, dir, "bare", pin, port, nil, c.baseline, "-bare", "-addr", "127.0.0.1:"+strconv.Itoa(port), "-data", data)
		}},
	}
	if c.faults > 0 {
		// The same inventory, and rules that no benchmark request matches.
		out = append(out, server{name: refserverFaults, path: "/rest" + sendPath, start: func(ctx context.Context, port int, data string) (*process, error) {
			withFaults, err := addFaults(dir, data, c.faults)
			if err != nil {
				return nil, err
			}
			args := append([]string{c.refserver, "-addr", "127.0.0.1:" + strconv.Itoa(port), "-data", withFaults}, extraRefArgs...)
			return start(ctx, dir, refserverFaults, pin, port, []string{"REFSERVER_TOKEN=" + token}, args...)
		}})
	}
	if c.prism != "" {
		// Prism routes by the spec's paths without the servers' base path.
		out = append(out, server{name: "prism", path: sendPath, start: func(ctx context.Context, port int, _ string) (*process, error) {
			return start(ctx, dir, "prism", pin, port, nil, c.prism, "mock", "-h", "127.0.0.1", "-p", strconv.Itoa(port), c.spec)
		}})
	}
	return out
}

// sessionID is the id of the i-th session of the generated inventory.
func sessionID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }

// writeData writes an inventory of n connected sessions.
func writeData(dir string, n int) (string, error) {
	data := model.ReferenceData{Sessions: make([]model.SessionInfo, n)}
	for i := range data.Sessions {
		user := fmt.Sprintf("S-1-5-21-1-2-3-%d", 1000+i)
		data.Sessions[i] = model.SessionInfo{ID: sessionID(i), UserID: &user, SessionState: model.SessionInfoSessionStateCONNECTED}
	}
	path := filepath.Join(dir, fmt.Sprintf("sessions-%d.json", n))
	return path, writeJSON(path, data)
}

// refserverFaults is the reference server with fault rules that do not match.
const refserverFaults = "refserver+faults"

// addFaults writes into dir a copy of the data file with n fault rules, of
// every operation and action, none of which matches a benchmark request: the
// send-message rules name sessions that the requests do not.
func addFaults(dir, dataFile string, n int) (string, error) {
	path := filepath.Join(dir, "sessions-with-faults.json")
	raw, err := os.ReadFile(dataFile)
	if err != nil {
		return "", fmt.Errorf("read data file: %w", err)
	}
	var data model.ReferenceData
	if err := json.Unmarshal(raw, &data); err != nil {
		return "", fmt.Errorf("data file %s: %w", dataFile, err)
	}
	faults := make([]model.FaultRule, n)
	for i := range faults {
		if faults[i], err = nonMatchingFault(i); err != nil {
			return "", fmt.Errorf("fault rule %d: %w", i, err)
		}
	}
	data.Faults = &faults
	return path, writeJSON(path, data)
}

// nonMatchingFault is the i-th fault rule of addFaults: half of them on
// send-message, naming a session outside the inventory, the others on the
// other operations.
func nonMatchingFault(i int) (model.FaultRule, error) {
	status, delay, user := int32(503), int32(1000), fmt.Sprintf("nobody-%d", i)
	ids := []string{fmt.Sprintf("ffffffff-ffff-4fff-8fff-%012x", i)}
	var rule model.FaultRule
	var err error
	switch i % 8 {
	case 0:
		err = rule.FromRespondFaultRule(model.RespondFaultRule{Operation: model.FaultOperationSendMessageToSessions, SessionIDs: &ids, Status: status})
	case 1:
		err = rule.FromRespondFaultRule(model.RespondFaultRule{Operation: model.FaultOperationLogin, Username: &user, Status: status})
	case 2:
		err = rule.FromFailSessionsFaultRule(model.FailSessionsFaultRule{Operation: model.FailSessionsFaultRuleOperationSendMessageToSessions, SessionIDs: &ids})
	case 3:
		err = rule.FromCloseBeforeActingFaultRule(model.CloseBeforeActingFaultRule{Operation: model.FaultOperationGetSession, SessionIDs: &ids})
	case 4:
		err = rule.FromCloseAfterActingFaultRule(model.CloseAfterActingFaultRule{Operation: model.FaultOperationSendMessageToSessions, SessionIDs: &ids})
	case 5:
		err = rule.FromDelayFaultRule(model.DelayFaultRule{Operation: model.FaultOperationListSessions, DelayMs: delay})
	case 6:
		err = rule.FromDelayFaultRule(model.DelayFaultRule{Operation: model.FaultOperationSendMessageToSessions, SessionIDs: &ids, DelayMs: delay})
	default:
		err = rule.FromCloseBeforeActingFaultRule(model.CloseBeforeActingFaultRule{Operation: model.FaultOperationRefreshAccessToken})
	}
	return rule, err
}

// writeBody writes a send-message request for the first n sessions.
func writeBody(dir string, n int) (string, []byte, error) {
	spec := model.SessionSendMessageSpec{Message: message, MessageType: model.SessionSendMessageSpecMessageTypeWARNING, SessionIDs: make([]string, n)}
	for i := range spec.SessionIDs {
		spec.SessionIDs[i] = sessionID(i)
	}
	path := filepath.Join(dir, fmt.Sprintf("body-%d.json", n))
	if err := writeJSON(path, spec); err != nil {
		return "", nil, err
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("read body: %w", err)
	}
	return path, body, nil
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// sameAnswer checks that two servers answer the same request with 200 and
// the same bytes: headers too unless bodyOnly, apart from the value of
// X-Request-Id, Date and the items' timestamps (the clock's).
func sameAnswer(ctx context.Context, a, b *process, path string, body []byte, bodyOnly bool) error {
	var answers [2]answer
	for i, p := range []*process{a, b} {
		ans, err := exchange(ctx, p.url+path, token, body)
		if err != nil {
			return err
		}
		if ans.status != 200 {
			return fmt.Errorf("%s answered %d: %.300s", p.name, ans.status, ans.body)
		}
		answers[i] = ans
	}
	compare := compareAnswers
	if bodyOnly {
		compare = compareBodies
	}
	if err := compare(answers[0], answers[1]); err != nil {
		return fmt.Errorf("%s and %s answer the same request differently: %w", a.name, b.name, err)
	}
	return nil
}

// answer is what a server sent back: status line, headers, body.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// timestamps matches the items' timestamps, which are the clock's.
var timestamps = regexp.MustCompile(`"timestamp":[0-9]+`)

// compareAnswers is nil when a and b are the same bytes on the wire, the
// values of X-Request-Id and Date and the items' timestamps aside. Both must
// carry an X-Request-Id and every item a timestamp.
func compareAnswers(a, b answer) error {
	if a.status != b.status {
		return fmt.Errorf("status %d against %d", a.status, b.status)
	}
	for _, ans := range []answer{a, b} {
		if ans.header.Get("X-Request-Id") == "" {
			return errors.New("an answer without X-Request-Id")
		}
	}
	keys := map[string]bool{}
	for k := range a.header {
		keys[k] = true
	}
	for k := range b.header {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if k == "Date" || k == "X-Request-Id" {
			continue
		}
		if !slices.Equal(a.header[k], b.header[k]) {
			return fmt.Errorf("header %s: %q against %q", k, a.header[k], b.header[k])
		}
	}
	return compareBodies(a, b)
}

// compareBodies is nil when a and b have the same status and body, the
// items' timestamps aside, which every item must carry.
func compareBodies(a, b answer) error {
	if a.status != b.status {
		return fmt.Errorf("status %d against %d", a.status, b.status)
	}
	masked := [2][]byte{}
	for i, ans := range []answer{a, b} {
		if bytes.Count(ans.body, []byte(`"id":`)) != len(timestamps.FindAllIndex(ans.body, -1)) {
			return errors.New("an answer with an item without timestamp")
		}
		masked[i] = timestamps.ReplaceAll(ans.body, []byte(`"timestamp":0`))
	}
	if !bytes.Equal(masked[0], masked[1]) {
		return fmt.Errorf("bodies differ: %.300q against %.300q", masked[0], masked[1])
	}
	return nil
}

// loadScenarios runs the interleaved wrk rounds and prints the table.
func loadScenarios(ctx context.Context, c config, dir string, pin *cpuPin, stdout io.Writer) error {
	dataFile, err := writeData(dir, slices.Max(c.ids))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n### Load: %d connections, %d interleaved round(s) of %s per server (warm-up %s), medians\n\n",
		c.conns, c.rounds, c.duration, c.warmup)
	if c.clearEvery > 0 {
		fmt.Fprintf(stdout, "What-if: the refserver's record of deliveries emptied every %s during the runs.\n\n", c.clearEvery)
	}
	fmt.Fprintln(stdout, "| ids | server | req/s | p50 | p99 | peak RSS | server CPU/req | req/s by round |")
	fmt.Fprintln(stdout, "|---:|---|---:|---:|---:|---:|---:|---|")
	for _, n := range c.ids {
		if err := loadScenario(ctx, c, dir, pin, dataFile, n, stdout); err != nil {
			return fmt.Errorf("%d ids: %w", n, err)
		}
	}
	return nil
}

type measured struct {
	name    string
	results []result
	peakRSS int64
}

func loadScenario(ctx context.Context, c config, dir string, pin *cpuPin, dataFile string, n int, stdout io.Writer) error {
	bodyFile, body, err := writeBody(dir, n)
	if err != nil {
		return err
	}
	script, err := wrkScript(dir, fmt.Sprintf("post-%d", n), bodyFile, token)
	if err != nil {
		return err
	}
	kinds := servers(c, dir, pin)
	procs := make([]*process, 0, len(kinds))
	defer func() {
		for _, p := range procs {
			p.stop(10 * time.Second)
		}
	}()
	for _, k := range kinds {
		port, err := freePort(ctx)
		if err != nil {
			return err
		}
		p, err := k.start(ctx, port, dataFile)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		if err := p.waitReady(ctx, k.path, token, body, time.Minute); err != nil {
			return err
		}
	}
	// The baseline answers as the reference server does, headers included;
	// the bare one the same items.
	if err := sameAnswer(ctx, procs[0], procs[1], kinds[0].path, body, false); err != nil {
		return err
	}
	if err := sameAnswer(ctx, procs[0], procs[2], kinds[0].path, body, true); err != nil {
		return err
	}
	if i := slices.IndexFunc(kinds, func(k server) bool { return k.name == refserverFaults }); i >= 0 {
		if err := sameAnswer(ctx, procs[i], procs[1], kinds[i].path, body, false); err != nil {
			return err
		}
	}
	if c.warmup > 0 {
		for i, p := range procs {
			if _, err := runWrk(ctx, c.wrk, pin, c.conns, c.warmup, script, p.url+kinds[i].path); err != nil {
				return err
			}
		}
	}
	m := make([]measured, len(procs))
	for round := 0; round < c.rounds; round++ {
		for i, p := range procs {
			r, err := measureRun(ctx, c, pin, p, kinds[i], script)
			if err != nil {
				return err
			}
			m[i].name = p.name
			m[i].results = append(m[i].results, r)
		}
	}
	for i, p := range procs {
		if m[i].peakRSS, err = p.peakRSS(); err != nil {
			return err
		}
	}
	printRows(stdout, n, m)
	return nil
}

// measureRun is one wrk run against the server p of kind k, with the
// server's CPU time per request.
func measureRun(ctx context.Context, c config, pin *cpuPin, p *process, k server, script string) (result, error) {
	isRefserver := k.name == "refserver" || k.name == refserverFaults
	if isRefserver {
		if err := clearMessages(ctx, p.url, token); err != nil {
			return result{}, err
		}
	}
	stopClearing := func() error { return nil }
	if isRefserver && c.clearEvery > 0 {
		stopClearing = clearPeriodically(ctx, p.url, c.clearEvery)
	}
	cpuBefore, err := p.cpuTime()
	if err != nil {
		return result{}, err
	}
	r, err := runWrk(ctx, c.wrk, pin, c.conns, c.duration, script, p.url+k.path)
	if clearErr := stopClearing(); err == nil {
		err = clearErr
	}
	if err != nil {
		return result{}, err
	}
	cpuAfter, err := p.cpuTime()
	if err != nil {
		return result{}, err
	}
	if r.requests > 0 {
		r.cpuPerRequest = (cpuAfter - cpuBefore) / time.Duration(r.requests)
	}
	if r.non2xx > 0 || r.errors != "" {
		return result{}, fmt.Errorf("%s: %d of %d answers were not 2xx; socket errors: %q", p.name, r.non2xx, r.requests, r.errors)
	}
	return r, nil
}

func median[T int64 | float64 | time.Duration](values []T) T {
	s := slices.Clone(values)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type summary struct {
	rps      float64
	p50, p99 time.Duration
	cpu      time.Duration // server CPU per request
	rss      int64
	rounds   []float64
}

func summarize(m measured) summary {
	s := summary{rss: m.peakRSS}
	var p50s, p99s, cpus []time.Duration
	for _, r := range m.results {
		s.rounds = append(s.rounds, r.reqPerSec)
		p50s, p99s, cpus = append(p50s, r.p50), append(p99s, r.p99), append(cpus, r.cpuPerRequest)
	}
	s.rps, s.p50, s.p99, s.cpu = median(s.rounds), median(p50s), median(p99s), median(cpus)
	return s
}

func printRows(w io.Writer, n int, ms []measured) {
	sums := make(map[string]summary, len(ms))
	for _, m := range ms {
		s := summarize(m)
		sums[m.name] = s
		rounds := make([]string, len(s.rounds))
		for i, r := range s.rounds {
			rounds[i] = fmt.Sprintf("%.0f", r)
		}
		fmt.Fprintf(w, "| %d | %s | %.0f | %s | %s | %s | %s | %s |\n", n, m.name, s.rps, ms2(s.p50), ms2(s.p99), mib(s.rss), us(s.cpu), strings.Join(rounds, ", "))
	}
	ref, base := sums["refserver"], sums["baseline"]
	printRatio(w, n, "**refserver / baseline**", ref, base)
	printRatio(w, n, "**refserver / bare**", ref, sums["bare"])
	if faults, ok := sums[refserverFaults]; ok {
		printRatio(w, n, "**refserver+faults / baseline**", faults, base)
		printRatio(w, n, "refserver+faults / refserver", faults, ref)
	}
	if prism, ok := sums["prism"]; ok {
		fmt.Fprintf(w, "| %d | refserver / prism | %.1fx | %.2fx | %.2fx | %.2fx | %.2fx | |\n", n,
			ref.rps/prism.rps, float64(ref.p50)/float64(prism.p50), float64(ref.p99)/float64(prism.p99), float64(ref.rss)/float64(prism.rss),
			float64(ref.cpu)/float64(prism.cpu))
	}
}

// printRatio prints the row of a's figures over b's, with the ratio within
// each round, the two runs minutes apart at most: steadier than the ratio of
// medians when the machine is shared.
func printRatio(w io.Writer, n int, name string, a, b summary) {
	byRound := make([]string, len(a.rounds))
	for i := range a.rounds {
		byRound[i] = fmt.Sprintf("%.2f", a.rounds[i]/b.rounds[i])
	}
	fmt.Fprintf(w, "| %d | %s | **%.2fx** | %.2fx | **%.2fx** | %.2fx | %.2fx | %s |\n", n, name,
		a.rps/b.rps, float64(a.p50)/float64(b.p50), float64(a.p99)/float64(b.p99), float64(a.rss)/float64(b.rss),
		float64(a.cpu)/float64(b.cpu), strings.Join(byRound, ", "))
}

func ms2(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.1f us", float64(d)/float64(time.Microsecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func printHeader(w io.Writer, c config, pinNote string, args []string) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "loadbench %s\n", strings.Join(args, " "))
	fmt.Fprintf(w, "date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %s, %s, %d CPUs (%s)\n", host, cpuModel(), numCPU(), pinNote)
	fmt.Fprintf(w, "load generator: %s, 1 thread; servers on 127.0.0.1\n", c.wrk)
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
