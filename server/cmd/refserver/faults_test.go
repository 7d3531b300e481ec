package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialRaw opens a plain TCP connection to addr, for requests that no HTTP
// client would send.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	var dialer net.Dialer
	conn, err := dialer.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readToEnd reads conn until the server closes it, and returns what came. A
// reset counts as closed: the test may still be writing when the server hangs
// up. It fails t if the connection stays open for failAfter.
func readToEnd(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	got, err := readUntilClosed(conn)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// readUntilClosed is readToEnd for another goroutine than the test's.
func readUntilClosed(conn net.Conn) ([]byte, error) {
	if err := conn.SetReadDeadline(time.Now().Add(failAfter)); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	got, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		return got, fmt.Errorf("the server did not close the connection: %w (read %q)", err, got)
	}
	return got, nil
}

// rawAnswer is an answer read off a raw connection.
type rawAnswer struct {
	status int
	body   []byte
	close  bool // the answer says the connection closes after it
}

// parseAnswer parses the one answer in raw, the bytes the server sent to req,
// and holds it against the spec.
func parseAnswer(t *testing.T, req *http.Request, raw []byte) rawAnswer {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), req)
	if err != nil {
		t.Fatalf("no HTTP answer in %q: %v", raw, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer body: %v", err)
	}
	checkAnswer(t, req, resp, body)
	return rawAnswer{status: resp.StatusCode, body: body, close: resp.Close}
}

// specRequest is the request a raw write stands for, for the spec checker.
func specRequest(t *testing.T, method, rawURL string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestRunHeaderLimit sends header sections around -max-header-bytes: within
// it they are served, far over it they get net/http's 431.
func TestRunHeaderLimit(t *testing.T) {
	t.Parallel()
	const limit = 4096
	small := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-headers", "-max-header-bytes", fmt.Sprint(limit)}, nil)
	standard := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-headers"}, nil)
	tests := []struct {
		name       string
		r          *running
		header     string
		wantStatus int
	}{
		{"value within the limit", small, "X-Padding: " + strings.Repeat("a", limit/2), http.StatusOK},
		{"value far over the limit", small, "X-Padding: " + strings.Repeat("a", 64<<10), http.StatusRequestHeaderFieldsTooLarge},
		{"many headers over the limit", small, strings.TrimSuffix(strings.Repeat("X-Many: a\r\n", 8<<10), "\r\n"), http.StatusRequestHeaderFieldsTooLarge},
		{"huge token over the limit", small, "Authorization: Bearer " + strings.Repeat("t", 64<<10), http.StatusRequestHeaderFieldsTooLarge},
		{"a value within the default limit", standard, "X-Padding: " + strings.Repeat("a", defaultMaxHeaderBytes/2), http.StatusOK},
		{"the same value far over, default limit", standard, "X-Padding: " + strings.Repeat("a", 64<<10), http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn := dialRaw(t, tt.r.addr)
			request := "GET /rest" + healthPath + " HTTP/1.1\r\nHost: " + tt.r.addr + "\r\n" + tt.header + "\r\nConnection: close\r\n\r\n"
			if _, err := io.WriteString(conn, request); err != nil {
				t.Fatal(err)
			}
			a := parseAnswer(t, specRequest(t, http.MethodGet, tt.r.base+healthPath), readToEnd(t, conn))
			if a.status != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
		})
	}
}

// TestRunSlowClients trickles a request one byte at a time: the server cuts
// it off when the read-header timeout (for headers) or the read timeout (for
// the body) is up, however steadily bytes arrive, and serves others meanwhile.
// The write timeout equals the read timeout, as by default: the 408 still
// reaches the client before the connection closes.
func TestRunSlowClients(t *testing.T) {
	t.Parallel()
	const (
		token             = "tok-slow"
		readHeaderTimeout = time.Second
		readTimeout       = 2 * time.Second
		// every paces the trickle: several bytes fit in either timeout.
		every = 20 * time.Millisecond
	)
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token,
		"-read-header-timeout", readHeaderTimeout.String(), "-read-timeout", readTimeout.String(),
		"-write-timeout", readTimeout.String()}, nil)
	client := newClient(t)
	requestLine := func(suffix string) string { return "POST /rest" + suffix + " HTTP/1.1\r\nHost: " + r.addr + "\r\n" }
	body := strings.Replace(seedRequest, "Sample Info Message", strings.Repeat("m", 900), 1)
	login := `{"username":"administrator","domain":"EXAMPLE","password":"` + strings.Repeat("p", 900) + `"}`

	tests := []struct {
		name       string
		suffix     string // the operation's path under /rest
		sent       string // at once
		trickled   string // then one byte per tick
		timeout    time.Duration
		wantStatus int // 0: no answer, the connection is just closed
	}{
		{"headers", sendSuffix, requestLine(sendSuffix) + "Authorization: Bearer " + token + "\r\n", "X-Slow: " + strings.Repeat("a", 10000), readHeaderTimeout, 0},
		{
			"body", sendSuffix,
			requestLine(sendSuffix) + "Authorization: Bearer " + token + "\r\nContent-Type: application/json\r\n" +
				fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)),
			body, readTimeout, http.StatusRequestTimeout,
		},
		{
			"login body", "/login",
			requestLine("/login") + "Content-Type: application/json\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(login)),
			login, readTimeout, http.StatusRequestTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The server's clock starts after the dial, so this one is not ahead.
			start := time.Now()
			conn := dialRaw(t, r.addr)
			if _, err := io.WriteString(conn, tt.sent); err != nil {
				t.Fatal(err)
			}
			type end struct {
				raw     []byte
				err     error
				elapsed time.Duration
			}
			ended := make(chan end, 1)
			go func() {
				raw, err := readUntilClosed(conn)
				ended <- end{raw, err, time.Since(start)}
			}()

			// While the slow request is open, another client is served.
			status, got := post(t, client, r.base, token, seedRequest)
			wantDelivered(t, status, got, seedID)
			select {
			case e := <-ended:
				t.Fatalf("the slow request was cut off after %s, before another was served: raise the timeouts", e.elapsed)
			default:
			}

			written, e := trickle(t, conn, tt.trickled, every, ended)
			if e.err != nil {
				t.Fatal(e.err)
			}
			if written < 2 {
				t.Errorf("only %d bytes trickled before the cut-off", written)
			}
			if e.elapsed < tt.timeout {
				t.Errorf("cut off after %s, before the %s timeout", e.elapsed, tt.timeout)
			}
			t.Logf("cut off after %s (timeout %s), %d bytes trickled", e.elapsed.Round(time.Millisecond), tt.timeout, written)
			if tt.wantStatus == 0 {
				if len(e.raw) != 0 {
					t.Errorf("the server answered %q, want the connection closed", e.raw)
				}
				return
			}
			a := parseAnswer(t, specRequest(t, http.MethodPost, r.base+tt.suffix), e.raw)
			if a.status != tt.wantStatus || !strings.Contains(string(a.body), "read timeout") {
				t.Errorf("answer %d %s, want %d naming the read timeout", a.status, a.body, tt.wantStatus)
			}
			// The rest of the body must not be read as a next request.
			if !a.close {
				t.Error("the answer does not close the connection")
			}
		})
	}
}

// trickle writes s to conn one byte per tick until ended delivers, and
// returns how many bytes it wrote and what ended delivered. It fails t when s
// runs out first: the server never cut the request off.
func trickle[T any](t *testing.T, conn net.Conn, s string, every time.Duration, ended <-chan T) (int, T) {
	t.Helper()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for written := 0; ; {
		select {
		case e := <-ended:
			return written, e
		case <-ticker.C:
		}
		if written == len(s) {
			t.Fatalf("all %d bytes trickled and the server still waits for more", written)
		}
		// After the server hangs up, writes may fail: the end is what counts.
		if _, err := io.WriteString(conn, s[written:written+1]); err == nil {
			written++
		}
	}
}

// A body that cannot be read (here, malformed chunks) gets a plain 400, not
// the network error's text, from an operation that reads bodies; one whose
// spec has no body never reads it, answers as usual, and closes the
// connection.
func TestRunUnreadableBody(t *testing.T) {
	t.Parallel()
	const token = "tok-unreadable"
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token}, nil)
	for _, op := range []struct {
		method, path string
		status       int // when the body is not read
	}{
		{http.MethodPost, sendSuffix, 0},
		{http.MethodGet, messagesSuffix, http.StatusOK},
		{http.MethodDelete, messagesSuffix, http.StatusNoContent},
		{http.MethodPost, "/login", 0},
		{http.MethodPost, "/refresh", 0},
		{http.MethodPost, "/logout", 0},
		{http.MethodGet, "/inventory/v1/sessions", http.StatusOK},
		{http.MethodGet, "/inventory/v1/sessions/" + seedID, http.StatusOK},
	} {
		t.Run(op.method+" "+op.path, func(t *testing.T) {
			t.Parallel()
			conn := dialRaw(t, r.addr)
			request := op.method + " /rest" + op.path + " HTTP/1.1\r\nHost: " + r.addr + "\r\nAuthorization: Bearer " + token +
				"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nnot-a-chunk-size\r\n"
			if _, err := io.WriteString(conn, request); err != nil {
				t.Fatal(err)
			}
			a := parseAnswer(t, specRequest(t, op.method, r.base+op.path), readToEnd(t, conn))
			switch {
			case op.status != 0 && a.status != op.status:
				t.Errorf("answer %d %s, want %d: the body is not read", a.status, a.body, op.status)
			case op.status == 0 && (a.status != http.StatusBadRequest || !strings.Contains(string(a.body), `"request body could not be read"`)):
				t.Errorf("answer %d %s, want 400 saying the body could not be read", a.status, a.body)
			}
			if strings.Contains(string(a.body), "127.0.0.1") {
				t.Errorf("the answer names an address: %s", a.body)
			}
			if !a.close {
				t.Error("the answer does not close the connection")
			}
		})
	}
}
