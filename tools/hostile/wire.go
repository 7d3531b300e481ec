package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Every client has its own loopback address, so that the server tells them
// apart as it would tell apart hosts.
var (
	operatorIP = net.IPv4(127, 0, 0, 1) // the operator (static token), and start-up checks
	guesserIP  = net.IPv4(127, 0, 0, 2) // the one address that guesses
	adminIP    = net.IPv4(127, 0, 0, 3) // the administrator, logging in meanwhile
	probeIP    = net.IPv4(127, 0, 0, 4) // the client with a valid token, sending meanwhile
	legitIP    = net.IPv4(127, 0, 0, 5) // a keep-alive client that POSTs back to back
)

// attackerIP is the i-th address of attackers: 127.1.0.1, 127.1.0.2, ...
// (250 a /24), never one of the addresses above.
func attackerIP(i int) net.IP {
	return net.ParseIP(fmt.Sprintf("127.%d.%d.%d", 1+i/62500, i/250%250, 1+i%250))
}

func dialerFrom(ip net.IP) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
}

func dialFrom(ctx context.Context, ip net.IP, addr string) (net.Conn, error) {
	c, err := dialerFrom(ip).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", addr, ip, err)
	}
	return c, nil
}

// insecureTLS is for the servers' self-signed certificates.
func insecureTLS(protos ...string) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, NextProtos: protos} //nolint:gosec // a self-signed test server on loopback
}

type clientOptions struct {
	fresh   bool          // a new connection for every request
	http2   bool          // HTTP/2 over TLS
	conns   int           // most connections at once; 0: no limit
	timeout time.Duration // 0: 60 s
}

// newClient is an HTTP client whose connections come from ip.
func newClient(ip net.IP, o clientOptions) *http.Client {
	transport := &http.Transport{
		DialContext:         dialerFrom(ip).DialContext,
		TLSClientConfig:     insecureTLS(),
		ForceAttemptHTTP2:   o.http2,
		DisableKeepAlives:   o.fresh,
		MaxConnsPerHost:     o.conns,
		MaxIdleConnsPerHost: max(o.conns, 2),
	}
	if o.timeout == 0 {
		o.timeout = 60 * time.Second
	}
	return &http.Client{Transport: transport, Timeout: o.timeout}
}

// maxAnswer bounds what do reads of an answer.
const maxAnswer = 64 * mib

// do sends one request, with the bearer token unless it is "", and returns
// the status and at most maxAnswer bytes of the answer.
func do(ctx context.Context, client *http.Client, method, target, bearer string, body []byte) (int, []byte, error) {
	var got []byte
	status, err := exchange(ctx, client, method, target, bearer, body, func(r io.Reader) (err error) {
		got, err = io.ReadAll(io.LimitReader(r, maxAnswer))
		return err
	})
	return status, got, err
}

// count is do for an answer that is counted, not kept.
func count(ctx context.Context, client *http.Client, method, target, bearer string, body []byte) (int, int64, error) {
	var n int64
	status, err := exchange(ctx, client, method, target, bearer, body, func(r io.Reader) (err error) {
		n, err = io.Copy(io.Discard, r)
		return err
	})
	return status, n, err
}

// exchange sends a request (a JSON body when body is not nil) and hands the
// answer's body to read.
func exchange(ctx context.Context, client *http.Client, method, target, bearer string, body []byte, read func(io.Reader) error) (int, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if err := read(resp.Body); err != nil {
		return resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, nil
}

func get(ctx context.Context, client *http.Client, target, bearer string) (int, []byte, error) {
	return do(ctx, client, http.MethodGet, target, bearer, nil)
}

func post(ctx context.Context, client *http.Client, target, bearer string, body []byte) (int, []byte, error) {
	return do(ctx, client, http.MethodPost, target, bearer, body)
}

// login logs user in from client and returns the access and refresh tokens.
func login(ctx context.Context, client *http.Client, base, user, password string) (access, refresh string, err error) {
	status, raw, err := post(ctx, client, base+loginPath, "", loginBody(user, password))
	if err != nil {
		return "", "", err
	}
	var tokens struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &tokens) != nil || tokens.Access == "" {
		return "", "", fmt.Errorf("login of %s: %d %.200s", user, status, raw)
	}
	return tokens.Access, tokens.Refresh, nil
}

func loginBody(user, password string) []byte {
	return jsonBytes(map[string]string{"username": user, "domain": domain, "password": password})
}

// sendBody is a send-message body of message to the sessions ids.
func sendBody(message string, ids []string) []byte {
	return jsonBytes(map[string]any{"message": message, "message_type": "INFO", "session_ids": ids})
}

// paddedBody is head (a JSON object's opening members, ending in a comma)
// followed by a member "x": [1,1,1,...] that brings the whole to exactly
// size bytes: valid JSON, which the runner checks before it sends it.
func paddedBody(head string, size int) ([]byte, error) {
	const open, closing = `"x":[1`, `]}`
	fill := size - len(head) - len(open) - len(closing)
	if fill < 0 {
		return nil, fmt.Errorf("a body of %d bytes cannot hold %d bytes of members", size, len(head))
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(head)
	b.WriteString(open)
	b.Write(bytes.Repeat([]byte(",1"), fill/2))
	if fill%2 == 1 {
		b.WriteByte(' ')
	}
	b.WriteString(closing)
	if b.Len() != size || !json.Valid(b.Bytes()) {
		return nil, fmt.Errorf("padded body: %d bytes, want %d, or not valid JSON", b.Len(), size)
	}
	return b.Bytes(), nil
}

// validSendBody is a valid send-message body of exactly size bytes: three
// sessions, and an extra member holding [1,1,1,...], which the spec allows
// and a generic decoder turns into one value per element.
func validSendBody(size int) ([]byte, error) {
	return paddedBody(`{"message":"hostile","message_type":"INFO","session_ids":["s-00001","s-00002","s-00003"],`, size)
}

// rawRequest writes head and then body on a connection of its own from ip,
// and returns the status of the answer, 0 for none. The server may answer
// and close before all is written.
func rawRequest(ctx context.Context, ip net.IP, addr, head string, body io.Reader) int {
	conn, err := dialFrom(ctx, ip, addr)
	if err != nil {
		return 0
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	answered := make(chan int, 1)
	go func() { answered <- readStatus(conn) }()
	_, _ = io.Copy(conn, io.MultiReader(strings.NewReader(head), body)) // fails once the server closes: fine
	return <-answered
}

// readStatus reads one answer from conn and returns its status, 0 for none.
func readStatus(conn net.Conn) int {
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, mib))
	resp.Body.Close()
	return resp.StatusCode
}

// requestHead is the head of an HTTP/1.1 POST with a body of length bytes
// (-1: chunked).
func requestHead(path, addr, bearer string, length int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", path, addr)
	if bearer != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", bearer)
	}
	if length < 0 {
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	} else {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", length)
	}
	return b.String()
}

// errKind names an error of a request for the table: what kind, not which.
func errKind(err error) string {
	var netErr net.Error
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "broken pipe"):
		return "broken pipe"
	case strings.Contains(err.Error(), "connection reset"):
		return "reset"
	case strings.Contains(err.Error(), "EOF"):
		return "closed"
	case strings.Contains(err.Error(), "refused"):
		return "refused"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg[:min(len(msg), 40)]
}

// operator is the operator's client: the static token, from 127.0.0.1.
func operator() *http.Client { return newClient(operatorIP, clientOptions{conns: 4}) }

// jsonBytes is v in JSON. Its values are maps, strings and numbers, which
// always encode: a failure is a bug of the runner.
func jsonBytes(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("hostile: encode %T: %v", v, err))
	}
	return b
}

// contains says whether s holds any of subs, ignoring case.
func contains(s string, subs ...string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(s, strings.ToLower(sub)) {
			return true
		}
	}
	return false
}
