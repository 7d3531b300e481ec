package main

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TLS 1.2 is offered with ECDHE and AEAD suites only: a client that knows
// only CBC suites, or RSA key exchange, finds no suite in common.
func TestRunTLSSuites(t *testing.T) {
	t.Parallel()
	certFile := filepath.Join(t.TempDir(), "refserver.pem")
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-suites", "-tls", "-tls-cert-out", certFile}, nil)
	for _, tt := range []struct {
		name   string
		suites []uint16
		ok     bool
	}{
		{"ECDHE with AES-GCM", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
		{"ECDHE with ChaCha20-Poly1305", []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, true},
		{"CBC with SHA-1", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}, false},
		{"CBC with SHA-256", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dialer := tls.Dialer{Config: &tls.Config{
				InsecureSkipVerify: true,
				MinVersion:         tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: tt.suites,
			}}
			conn, err := dialer.DialContext(t.Context(), "tcp", r.addr)
			if conn != nil {
				defer conn.Close()
			}
			if tt.ok && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "handshake failure")) {
				t.Fatalf("handshake: err = %v, want a handshake failure", err)
			}
		})
	}
}

// At the connection cap a new client is served: the idle connection is
// closed to make room, and the connection in the middle of a request is not.
func TestRunConnectionCap(t *testing.T) {
	t.Parallel()
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-cap", "-max-connections", "2"}, nil)

	// One connection busy: its headers are not all in.
	busy := dialRaw(t, r.addr)
	if _, err := io.WriteString(busy, "GET /rest"+healthPath+" HTTP/1.1\r\nHost: "+r.addr+"\r\n"); err != nil {
		t.Fatal(err)
	}
	// The other idle after one answer, kept alive.
	conn := dialRaw(t, r.addr)
	if _, err := io.WriteString(conn, "GET /rest"+healthPath+" HTTP/1.1\r\nHost: "+r.addr+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	idle := bufio.NewReader(conn)
	resp, err := http.ReadResponse(idle, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// A new client at the cap is served once the server has seen the
	// connection go idle (it may answer before it notes that): until then
	// the new connection is closed at once, and the client tries again.
	client := newClient(t)
	for deadline := time.Now().Add(failAfter); ; {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, r.base+healthPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Close = true
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("a client at the cap: status %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a client at the cap: %v", err)
		}
	}
	// The idle connection was closed for it; the busy one is still served.
	if _, err := idle.ReadByte(); err == nil {
		t.Error("the idle connection is still open")
	}
	if _, err := io.WriteString(busy, "\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("the busy connection: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the busy connection: status %d", resp.StatusCode)
	}
}

// -metrics-addr serves Prometheus metrics without a token, apart from the
// API; each family docs/metrics.md lists is there.
func TestRunMetrics(t *testing.T) {
	t.Parallel()
	const token = "tok-metrics"
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token, "-metrics-addr", "127.0.0.1:0"}, nil)
	out := r.stdout.waitFor(t, "metrics line", func(s string) bool { return strings.Contains(s, metricsLine) }, r)
	metricsURL := stdoutValue(t, out, metricsLine)
	client := newClient(t)
	status, body := post(t, client, r.base, token, seedRequest)
	wantDelivered(t, status, body, seedID)
	status, _ = post(t, client, r.base, "wrong", seedRequest)
	if status != http.StatusUnauthorized {
		t.Fatalf("wrong token: status %d", status)
	}

	var text string
	for deadline := time.Now().Add(failAfter); ; {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, metricsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("scrape: %d %v", resp.StatusCode, err)
		}
		text = string(raw)
		// The access log counts a request once its answer is out.
		if strings.Contains(text, `refserver_requests_total{operation="sendMessageToSessions",status="401"} 1`) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		`refserver_requests_total{operation="sendMessageToSessions",status="200"} 1`,
		`refserver_requests_total{operation="sendMessageToSessions",status="401"} 1`,
		`refserver_request_duration_seconds_bucket{operation="sendMessageToSessions",le="`,
		"refserver_requests_in_flight ",
		"refserver_body_bytes_in_flight 0",
		"refserver_deliveries_recorded_total 1",
		"refserver_deliveries_evicted_total 0",
		`refserver_logins_total{result="failed"} 0`,
		`refserver_refused_total{limit="unauthenticated"} 1`,
		`refserver_refused_total{limit="body_budget"} 0`,
		"refserver_connections_open ",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

const metricsLine = "Prometheus metrics on "

// The metrics listener has a cap of its own: idle scrapers past it are
// closed at once, and the API is served meanwhile.
func TestRunMetricsConnectionCap(t *testing.T) {
	t.Parallel()
	const token = "tok-metrics-cap"
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", token, "-metrics-addr", "127.0.0.1:0", "-metrics-max-connections", "2"}, nil)
	out := r.stdout.waitFor(t, "metrics line", func(s string) bool { return strings.Contains(s, metricsLine) }, r)
	metrics, err := url.Parse(stdoutValue(t, out, metricsLine))
	if err != nil {
		t.Fatal(err)
	}
	// Two connections that send nothing take the cap; the third is closed
	// without an answer.
	dialRaw(t, metrics.Host)
	dialRaw(t, metrics.Host)
	third := dialRaw(t, metrics.Host)
	if _, err := io.WriteString(third, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err == nil {
		if got := readToEnd(t, third); len(got) != 0 {
			t.Errorf("a connection past the metrics cap was answered: %q", got)
		}
	}
	status, body := post(t, newClient(t), r.base, token, seedRequest)
	wantDelivered(t, status, body, seedID)
}
