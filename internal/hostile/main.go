// Command hostile plays the hostile clients of issue 11 against a refserver
// binary on loopback, each attack against a fresh server process, and prints
// what each cost the server: peak resident memory, CPU, log bytes, answers.
// Every loop is bounded in count and time, and every address is 127.0.0.1 or
// 127.0.0.2. With -check (the default), it fails when a number is past the
// limit written next to it; -check=false only measures, for a server that
// predates the limits.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	token    = "hostile-token"
	user     = "administrator"
	domain   = "EXAMPLE"
	password = "hostile-Passw0rd"
	mib      = 1 << 20
	sendPath = "/rest/inventory/v1/sessions/action/send-message"
)

func main() {
	refserver := flag.String("refserver", "", "the refserver `binary` under test (required)")
	check := flag.Bool("check", true, "fail when a number is past its limit")
	only := flag.String("only", "", "run only the attacks whose name contains this `text`")
	flag.Parse()
	if *refserver == "" {
		fmt.Fprintln(os.Stderr, "hostile: -refserver is required")
		os.Exit(2)
	}
	os.Exit(run(*refserver, *check, *only))
}

// run runs the attacks and returns the exit status.
func run(refserver string, check bool, only string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h, err := newHarness(refserver, check)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 2
	}
	defer os.RemoveAll(h.dir)
	if failed := h.runAll(ctx, only); failed > 0 {
		fmt.Fprintf(os.Stderr, "hostile: %d of the checks above failed\n", failed)
		return 1
	}
	return 0
}

// harness runs attacks and prints one row per measurement.
type harness struct {
	bin      string
	check    bool
	dir      string
	dataFile string // 20000 connected sessions and the account
	failed   int
}

func newHarness(bin string, check bool) (*harness, error) {
	dir, err := os.MkdirTemp("", "hostile")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	h := &harness{bin: bin, check: check, dir: dir, dataFile: filepath.Join(dir, "data.json")}
	type session struct {
		ID    string `json:"id"`
		State string `json:"session_state"`
	}
	data := struct {
		Users    []map[string]string `json:"users"`
		Sessions []session           `json:"sessions"`
	}{Users: []map[string]string{{"username": user, "domain": domain, "password": password}}}
	for i := range manySessions {
		data.Sessions = append(data.Sessions, session{ID: sessionID(i), State: "CONNECTED"})
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	if err := os.WriteFile(h.dataFile, raw, 0o600); err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	return h, nil
}

const manySessions = 20000

func sessionID(i int) string { return fmt.Sprintf("s-%05d", i) }

type attack struct {
	name string
	run  func(context.Context, *harness) error
}

func (h *harness) runAll(ctx context.Context, only string) int {
	attacks := []attack{
		{"body-wrong-token-http1", bodyWrongTokenHTTP1},
		{"body-wrong-token-http2", bodyWrongTokenHTTP2},
		{"body-valid-token-http1", bodyValidTokenHTTP1},
		{"body-valid-token-http2", bodyValidTokenHTTP2},
		{"login-large-bodies", loginLargeBodies},
		{"request-id", longRequestIDs},
		{"record-read", recordRead},
		{"trickled-body", trickledBody},
		{"large-filter", largeFilter},
		{"idle-connections", idleConnections},
		{"login-guessing", loginGuessing},
		{"small-ones", smallOnes},
		{"metrics", scrapeMetrics},
	}
	fmt.Printf("%-24s | %-44s | %-16s | %s\n", "attack", "measure", "value", "limit")
	fmt.Printf("%s\n", strings.Repeat("-", 110))
	for _, a := range attacks {
		if only != "" && !strings.Contains(a.name, only) {
			continue
		}
		start := time.Now()
		if err := a.run(ctx, h); err != nil {
			h.failed++
			fmt.Printf("%-24s | %-44s | %-16s | FAILED: %v\n", a.name, "error", "", err)
			continue
		}
		h.row(a.name, "time taken", time.Since(start).Round(10*time.Millisecond).String(), "", true)
	}
	return h.failed
}

// row prints one measurement; ok false with a limit counts as a failure
// when checking.
func (h *harness) row(name, measure, value, limit string, ok bool) {
	mark := ""
	if limit != "" {
		mark = "ok"
		if !ok {
			mark = "OVER"
			if h.check {
				h.failed++
			}
		}
	}
	if limit != "" && !h.check {
		mark = "(not checked)"
	}
	fmt.Printf("%-24s | %-44s | %-16s | %s %s\n", name, measure, value, limit, mark)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// server is a refserver process under attack.
type server struct {
	cmd    *exec.Cmd
	addr   string
	base   string // http(s)://addr
	log    *os.File
	stdout *os.File
	done   chan struct{}
}

// start runs the refserver with args on a free loopback port, with the data
// file and the token, and waits until it answers.
func (h *harness) start(ctx context.Context, name string, tlsOn bool, wrap []string, args ...string) (*server, error) {
	port, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	argv := append(slices.Clone(wrap), h.bin, "-addr", addr, "-token", token, "-data", h.dataFile)
	if tlsOn {
		argv = append(argv, "-tls")
	}
	argv = append(argv, args...)
	logFile, err := os.Create(filepath.Join(h.dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	stdout, err := os.Create(filepath.Join(h.dir, name+".out"))
	if err != nil {
		return nil, fmt.Errorf("stdout file: %w", err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // G204: the binary named on the command line
	cmd.Stdout, cmd.Stderr = stdout, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start refserver: %w", err)
	}
	s := &server{cmd: cmd, addr: addr, base: "http://" + addr, log: logFile, stdout: stdout, done: make(chan struct{})}
	if tlsOn {
		s.base = "https://" + addr
	}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	client := newClient(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/rest/refserver/v1/health", nil)
		if err != nil {
			return nil, fmt.Errorf("health request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("refserver exited at start-up: %s", readFile(logFile.Name()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("refserver not ready in 10 s: %w", err)
		}
	}
}

func (s *server) stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.log.Close()
	s.stdout.Close()
}

func (s *server) status(key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == key {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb << 10
		}
	}
	return -1
}

// rss and peak are the process's resident memory now and at its highest.
func (s *server) rss() int64  { return s.status("VmRSS:") }
func (s *server) peak() int64 { return s.status("VmHWM:") }

// cpu is the CPU time the process has used.
func (s *server) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return -1
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func (s *server) logBytes() int64 {
	info, err := os.Stat(s.log.Name())
	if err != nil {
		return -1
	}
	return info.Size()
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("free port: not a TCP address: %v", l.Addr())
	}
	return addr.Port, nil
}

// newClient is an HTTP client for the server; with TLS it speaks HTTP/2 on
// one connection.
func newClient(http2 bool) *http.Client {
	transport := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // a self-signed test server
		ForceAttemptHTTP2: http2,
		MaxConnsPerHost:   0,
	}
	if http2 {
		transport.MaxConnsPerHost = 1
	}
	return &http.Client{Transport: transport, Timeout: 60 * time.Second}
}

// zeros is an endless reader of a JSON-ish filler: "0,0,0,...".
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		if i%2 == 0 {
			p[i] = '0'
		} else {
			p[i] = ','
		}
	}
	return len(p), nil
}

// rawPost writes a request with a body of size bytes (prefix, then filler)
// on a connection of its own and returns the status of the answer, 0 for
// none. The server may close before all is written.
func rawPost(ctx context.Context, addr, path, authorization, prefix string, size int) int {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	head := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n"
	if authorization != "" {
		head += "Authorization: " + authorization + "\r\n"
	}
	head += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	body := io.MultiReader(strings.NewReader(head+prefix), io.LimitReader(zeros{}, int64(size-len(prefix))))
	_, _ = io.Copy(conn, body) // fails once the server closes: fine
	return <-answered
}

// statuses counts answers by status.
type statuses struct {
	mu sync.Mutex
	n  map[int]int
}

func (s *statuses) add(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[int]int{}
	}
	s.n[status]++
}

func (s *statuses) String() string {
	keys := make([]int, 0, len(s.n))
	for k := range s.n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%dx%d", s.n[k], k))
	}
	return strings.Join(parts, " ")
}

// only says whether every answer had one of the given statuses.
func (s *statuses) only(want ...int) bool {
	for k := range s.n {
		if !slices.Contains(want, k) {
			return false
		}
	}
	return len(s.n) > 0
}

// rssLimit is the most resident memory a server under attack may reach.
const rssLimit = 300 << 20

func (h *harness) memoryRows(name string, s *server, before int64) {
	peak := s.peak()
	h.row(name, "RSS before", mb(before), "", true)
	h.row(name, "peak RSS", mb(peak), "< "+mb(rssLimit), peak < rssLimit)
}

// The body of a send-message request that decodes into millions of values.
const sendPrefix = `{"message":"m","message_type":"INFO","session_ids":[`

func bodyAttackHTTP1(ctx context.Context, h *harness, name, authorization string, want ...int) error {
	s, err := h.start(ctx, name, false, nil)
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.rss()
	var st statuses
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { st.add(rawPost(ctx, s.addr, sendPath, authorization, sendPrefix, 4*mib)) })
	}
	wg.Wait()
	h.memoryRows(name, s, before)
	h.row(name, "answers to 50 x 4 MiB", st.String(), fmt.Sprint(want), st.only(want...))
	return nil
}

func bodyWrongTokenHTTP1(ctx context.Context, h *harness) error {
	return bodyAttackHTTP1(ctx, h, "body-wrong-token-http1", "Bearer wrong", http.StatusUnauthorized)
}

func bodyValidTokenHTTP1(ctx context.Context, h *harness) error {
	// Bodies that pass the token and go to the validator: each is charged
	// to the budget; past it 503.
	return bodyAttackHTTP1(ctx, h, "body-valid-token-http1", "Bearer "+token, http.StatusBadRequest, http.StatusServiceUnavailable)
}

func bodyAttackHTTP2(ctx context.Context, h *harness, name, authorization string, want ...int) error {
	s, err := h.start(ctx, name, true, nil)
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.rss()
	client := newClient(true)
	var st statuses
	var protos sync.Map
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() {
			body := io.MultiReader(strings.NewReader(sendPrefix), io.LimitReader(zeros{}, 4*mib-int64(len(sendPrefix))))
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+sendPath, body)
			if err != nil {
				st.add(0)
				return
			}
			req.ContentLength = 4 * mib
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", authorization)
			resp, err := client.Do(req)
			if err != nil {
				st.add(0)
				return
			}
			protos.Store(resp.Proto, true)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			st.add(resp.StatusCode)
		})
	}
	wg.Wait()
	proto := ""
	protos.Range(func(k, _ any) bool {
		if p, ok := k.(string); ok {
			proto += p + " "
		}
		return true
	})
	h.memoryRows(name, s, before)
	h.row(name, "answers to 60 x 4 MiB streams, "+strings.TrimSpace(proto), st.String(), fmt.Sprint(want), st.only(want...))
	return nil
}

func bodyWrongTokenHTTP2(ctx context.Context, h *harness) error {
	return bodyAttackHTTP2(ctx, h, "body-wrong-token-http2", "Bearer wrong", http.StatusUnauthorized)
}

func bodyValidTokenHTTP2(ctx context.Context, h *harness) error {
	return bodyAttackHTTP2(ctx, h, "body-valid-token-http2", "Bearer "+token, http.StatusBadRequest, http.StatusServiceUnavailable)
}

func loginLargeBodies(ctx context.Context, h *harness) error {
	const name = "login-large-bodies"
	s, err := h.start(ctx, name, false, nil)
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.rss()
	var st statuses
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			st.add(rawPost(ctx, s.addr, "/rest/login", "", `{"username":"administrator","x":[`, 4*mib))
		})
	}
	wg.Wait()
	h.memoryRows(name, s, before)
	h.row(name, "answers to 8 x 4 MiB logins", st.String(), "[413]", st.only(http.StatusRequestEntityTooLarge))
	return nil
}

func longRequestIDs(ctx context.Context, h *harness) error {
	const name = "request-id"
	s, err := h.start(ctx, name, false, nil)
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(false)
	id := strings.Repeat("i", 1000000)
	before := s.logBytes()
	echoed := 0
	for range 40 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/rest/refserver/v1/health", nil)
		if err != nil {
			return fmt.Errorf("request: %w", err)
		}
		req.Header.Set("X-Request-Id", id)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("request with a long id: %w", err)
		}
		if len(resp.Header.Get("X-Request-Id")) > 64 {
			echoed++
		}
		resp.Body.Close()
	}
	s.stop() // the log is written in full at shutdown
	grown := s.logBytes() - before
	h.row(name, "log bytes for 40 requests with a 1 MB id", mb(grown), "< 0.1 MiB", grown < 100<<10)
	h.row(name, "answers echoing the long id", strconv.Itoa(echoed), "0", echoed == 0)
	return nil
}

// recordRead fills the record with long messages, then reads all of it
// three times at once, page by page where the server pages.
func recordRead(ctx context.Context, h *harness) error {
	const name = "record-read"
	s, err := h.start(ctx, name, false, nil)
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(false)
	ids := make([]string, manySessions)
	for i := range ids {
		ids[i] = sessionID(i)
	}
	for i := range 5 {
		// 1000 characters of 3 bytes each, different in every request.
		message := fmt.Sprintf("%04d", i) + strings.Repeat("€", 996)
		body, err := json.Marshal(map[string]any{"message": message, "message_type": "INFO", "session_ids": ids})
		if err != nil {
			return fmt.Errorf("fill body: %w", err)
		}
		status, _, err := do(ctx, client, http.MethodPost, s.base+sendPath, string(body))
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("fill the record: status %d, %w", status, err)
		}
	}
	before := s.rss()
	read := make([]int, 3)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 3 {
		wg.Go(func() { read[i], errs[i] = readRecord(ctx, client, s.base) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	h.memoryRows(name, s, before)
	h.row(name, "messages read by each of 3 readers", strconv.Itoa(read[0]), "", true)
	return nil
}

// readRecord reads every page of the record and returns how many messages
// it held.
func readRecord(ctx context.Context, client *http.Client, base string) (int, error) {
	total := 0
	after := int64(0)
	for range 10000 {
		status, body, err := do(ctx, client, http.MethodGet, fmt.Sprintf("%s/rest/refserver/v1/messages?limit=1000&after=%d", base, after), "")
		if err != nil || status != http.StatusOK {
			return total, fmt.Errorf("read the record: status %d, %w", status, err)
		}
		var page struct {
			Messages  []json.RawMessage `json:"messages"`
			NextAfter *int64            `json:"next_after"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return total, fmt.Errorf("read the record: %w", err)
		}
		total += len(page.Messages)
		if page.NextAfter == nil {
			return total, nil
		}
		after = *page.NextAfter
	}
	return total, errors.New("read the record: too many pages")
}

func do(ctx context.Context, client *http.Client, method, target, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, got, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, got, nil
}

// trickledBody sends a body one byte every 50 ms to a server whose read and
// write timeouts are equal (as by default), 1 s here.
func trickledBody(ctx context.Context, h *harness) error {
	const name = "trickled-body"
	s, err := h.start(ctx, name, false, nil, "-read-timeout", "1s", "-write-timeout", "1s")
	if err != nil {
		return err
	}
	defer s.stop()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	body := `{"message":"` + strings.Repeat("m", 200) + `","message_type":"INFO","session_ids":["s-00001"]}`
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		sendPath, s.addr, token, len(body))
	if _, err := io.WriteString(conn, head); err != nil {
		return fmt.Errorf("write headers: %w", err)
	}
	start := time.Now()
	answer := make(chan []byte, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		raw, _ := io.ReadAll(conn)
		answer <- raw
	}()
	var raw []byte
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
trickle:
	for i := 0; i < len(body); i++ {
		select {
		case raw = <-answer:
			break trickle
		case <-tick.C:
			_, _ = conn.Write([]byte{body[i]})
		}
	}
	if raw == nil {
		raw = <-answer
	}
	elapsed := time.Since(start).Round(10 * time.Millisecond)
	status := "no answer"
	if resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(raw))), nil); err == nil {
		status = resp.Status
		resp.Body.Close()
	}
	h.row(name, "answer on the wire before the close", status, "408", strings.HasPrefix(status, "408"))
	h.row(name, "connection closed after", elapsed.String(), "", true)
	return nil
}

// largeFilter asks for the 20000 sessions through an Or of 11000 Equals, then
// through the largest filter the server allows.
func largeFilter(ctx context.Context, h *harness) error {
	const name = "large-filter"
	s, err := h.start(ctx, name, false, nil)
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(false)
	// 511 filters and their Or or And: the most filters allowed. An Or of
	// Equals on ids is one lookup per session. An And of NotEquals (the
	// other type a field takes) that each session passes is a comparison
	// per filter and session, the most a filter costs; the shortest state
	// keeps it within the limit of bytes.
	for _, variant := range []struct {
		combine, kind, field string
		terms                int
		want                 int
	}{
		{"Or", "Equals", "id", 11000, http.StatusBadRequest},
		{"Or", "Equals", "id", 511, http.StatusOK},
		{"And", "NotEquals", "session_state", 511, http.StatusOK},
	} {
		filters := make([]map[string]string, variant.terms)
		for i := range filters {
			value := sessionID(i * 2)
			if variant.field == "session_state" {
				value = "PENDING"
			}
			filters[i] = map[string]string{"type": variant.kind, "name": variant.field, "value": value}
		}
		filter, err := json.Marshal(map[string]any{"type": variant.combine, "filters": filters})
		if err != nil {
			return fmt.Errorf("filter: %w", err)
		}
		// The same request 10 times: CPU time is counted in 10 ms ticks.
		before := s.cpu()
		var status int
		var body []byte
		for range 10 {
			if status, body, err = do(ctx, client, http.MethodGet, s.base+"/rest/inventory/v1/sessions?filter="+url.QueryEscape(string(filter)), ""); err != nil {
				return err
			}
		}
		cpu := (s.cpu() - before) / 10
		what := fmt.Sprintf("%s of %d %s over %d sessions", variant.combine, variant.terms, variant.kind, manySessions)
		ok := status == variant.want && (status == http.StatusOK || strings.Contains(string(body), "limit"))
		h.row(name, what+": status", strconv.Itoa(status), strconv.Itoa(variant.want), ok)
		h.row(name, what+": server CPU per request", cpu.String(), "", true)
	}
	return nil
}

// idleConnections opens 246 idle keep-alive connections to a server whose
// open-file limit is 256, then asks as a new client.
func idleConnections(ctx context.Context, h *harness) error {
	const name = "idle-connections"
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		h.row(name, "skipped: no prlimit here", "", "", true)
		return nil
	}
	s, err := h.start(ctx, name, false, []string{prlimit, "--nofile=256:256", "--"})
	if err != nil {
		return err
	}
	defer s.stop()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	request := "GET /rest/refserver/v1/health HTTP/1.1\r\nHost: " + s.addr + "\r\n\r\n"
	for range 246 {
		var dialer net.Dialer
		c, err := dialer.DialContext(ctx, "tcp", s.addr)
		if err != nil {
			break
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, request); err != nil {
			continue
		}
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	client := newClient(false)
	client.Timeout = 5 * time.Second
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/rest/refserver/v1/health", nil)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	status := "no answer in 5 s"
	if resp, err := client.Do(req); err == nil {
		status = resp.Status
		resp.Body.Close()
	}
	h.row(name, "a new client, after 246 idle of 256 files", status, "200", strings.HasPrefix(status, "200"))
	return nil
}

// loginGuessing sends failed logins from one address for 2 s, then a
// correct login of the account from another address.
func loginGuessing(ctx context.Context, h *harness) error {
	const name = "login-guessing"
	s, err := h.start(ctx, name, false, nil)
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(false)
	var st statuses
	end := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(end) && i < 100000; i++ {
				body := fmt.Sprintf(`{"username":"guess%d-%d","domain":"EXAMPLE","password":"wrong"}`, w, i%7)
				status, _, err := do(ctx, client, http.MethodPost, s.base+"/rest/login", body)
				if err != nil {
					status = 0
				}
				st.add(status)
			}
		})
	}
	wg.Wait()
	h.row(name, "failed logins from one client in 2 s", st.String(), "401s <= 25, then 429", st.n[http.StatusUnauthorized] <= 25 && st.n[http.StatusTooManyRequests] > 0)

	// Another address on loopback, a correct login.
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	body := fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, user, domain, password)
	start := time.Now()
	status, _, err := do(ctx, other, http.MethodPost, s.base+"/rest/login", body)
	if err != nil {
		return err
	}
	h.row(name, "correct login from 127.0.0.2 meanwhile", fmt.Sprintf("%d in %s", status, time.Since(start).Round(time.Millisecond)), "200", status == http.StatusOK)
	return nil
}

// smallOnes: TLS suites, a token with U+00A0, a filter that is not UTF-8, and
// a logout while a body uploads.
func smallOnes(ctx context.Context, h *harness) error {
	const name = "small-ones"
	s, err := h.start(ctx, name, true, nil)
	if err != nil {
		return err
	}
	defer s.stop()
	dialer := tls.Dialer{Config: &tls.Config{
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, //nolint:gosec // only the suite is under test
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
	}}
	cbc := "accepted"
	if conn, err := dialer.DialContext(ctx, "tcp", s.addr); err != nil {
		cbc = "refused"
	} else {
		conn.Close()
	}
	h.row(name, "TLS 1.2 with CBC-SHA suites only", cbc, "refused", cbc == "refused")

	client := newClient(false)
	get := func(target, authorization string) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+target, nil)
		if err != nil {
			return 0
		}
		req.Header.Set("Authorization", authorization)
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	status := get("/rest/inventory/v1/sessions", "Bearer "+token+"\u00a0")
	h.row(name, "token followed by U+00A0", strconv.Itoa(status), "401", status == http.StatusUnauthorized)
	status = get(`/rest/inventory/v1/sessions?filter=%7B%22type%22%3A%22Equals%22%2C%22name%22%3A%22id%22%2C%22value%22%3A%22%FF%22%7D`, "Bearer "+token)
	h.row(name, "filter with a byte that is not UTF-8", strconv.Itoa(status), "400", status == http.StatusBadRequest)

	// Log in, start an upload with the access token, log out, finish it.
	var tokens struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	login := fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, user, domain, password)
	st, raw, err := do(ctx, client, http.MethodPost, s.base+"/rest/login", login)
	if err != nil || st != http.StatusOK || json.Unmarshal(raw, &tokens) != nil {
		return fmt.Errorf("login: %d %s %w", st, raw, err)
	}
	pr, pw := io.Pipe()
	body := `{"message":"after logout","message_type":"INFO","session_ids":["s-00001"]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+sendPath, pr)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+tokens.Access)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan int, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	if _, err := io.WriteString(pw, body[:10]); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	st, _, err = do(ctx, client, http.MethodPost, s.base+"/rest/logout", fmt.Sprintf(`{"refresh_token":%q}`, tokens.Refresh))
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("logout: %d %w", st, err)
	}
	_, _ = io.WriteString(pw, body[10:])
	pw.Close()
	status = <-answered
	h.row(name, "upload finished after its login's logout", strconv.Itoa(status), "401", status == http.StatusUnauthorized)
	return nil
}

func scrapeMetrics(ctx context.Context, h *harness) error {
	const name = "metrics"
	if !h.check {
		h.row(name, "skipped: a server without -metrics-addr", "", "", true)
		return nil
	}
	port, err := freePort(ctx)
	if err != nil {
		return err
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(port)
	s, err := h.start(ctx, name, false, nil, "-metrics-addr", metricsAddr)
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(false)
	if _, _, err := do(ctx, client, http.MethodGet, s.base+"/rest/inventory/v1/sessions?page=1&size=1", ""); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metricsAddr+"/metrics", nil)
	if err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	families := 0
	for line := range strings.Lines(string(text)) {
		if strings.HasPrefix(line, "# TYPE ") {
			families++
		}
	}
	h.row(name, "metric families in one scrape", strconv.Itoa(families), "> 10", resp.StatusCode == http.StatusOK && families > 10)
	return nil
}
