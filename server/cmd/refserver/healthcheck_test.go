package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// -healthcheck asks the server that the same flags and variables describe,
// over HTTP and over HTTPS with a certificate it cannot verify, and exits 0.
func TestHealthcheckOfARunningServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"http", nil},
		{"https, generated certificate", map[string]string{"REFSERVER_TLS": "true"}},
		{"https, given certificate", certificateEnv(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"REFSERVER_ADDR": "127.0.0.1:0", "REFSERVER_TOKEN": "tok-health"}
			for k, v := range tt.env {
				env[k] = v
			}
			r := startRun(t, nil, env)
			// The probe sees the same variables, with the port run got.
			env["REFSERVER_ADDR"] = r.addr
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), []string{"-healthcheck"}, envFunc(env), &stdout, &stderr)
			if err != nil {
				t.Fatalf("run -healthcheck: %v; stderr %s", err, stderr.String())
			}
			if want := "healthy: " + r.base + healthPath + ": 6 sessions\n"; stdout.String() != want {
				t.Errorf("stdout = %q, want %q", stdout.String(), want)
			}
		})
	}
}

// certificateEnv writes a certificate and key for 127.0.0.1 and returns the
// variables that serve them.
func certificateEnv(t *testing.T) map[string]string {
	t.Helper()
	cert, err := selfSignedCertificate("127.0.0.1:0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"REFSERVER_TLS_CERT": writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))),
		"REFSERVER_TLS_KEY":  writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))),
	}
}

// Anything but a healthy answer is exit status 1, with a line that says what
// was found.
func TestHealthcheckUnhealthy(t *testing.T) {
	t.Parallel()
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(unavailable.Close)
	// A port that was just free: nothing listens there.
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	plain := startRun(t, nil, map[string]string{"REFSERVER_ADDR": "127.0.0.1:0", "REFSERVER_TOKEN": "tok-plain"})
	https := startRun(t, nil, map[string]string{"REFSERVER_ADDR": "127.0.0.1:0", "REFSERVER_TOKEN": "tok-tls", "REFSERVER_TLS": "true"})

	tests := []struct {
		name, want string
		args       []string
	}{
		{"nothing listens", "connection refused", []string{"-addr", closedAddr}},
		{"not healthy", "answered 503 Service Unavailable", []string{"-addr", unavailable.Listener.Addr().String()}},
		{"HTTP to an HTTPS server", "give the health check its -tls or -tls-cert", []string{"-addr", https.addr}},
		{"HTTPS to an HTTP server", "server gave HTTP response to HTTPS client", []string{"-addr", plain.addr, "-tls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append([]string{"-healthcheck"}, tt.args...), envFunc(nil), &stdout, &stderr)
			if !errors.Is(err, errUnhealthy) {
				t.Fatalf("run -healthcheck %v = %v, want an unhealthy server", tt.args, err)
			}
			if got := exitStatus(err); got != 1 {
				t.Errorf("exit status %d, want 1", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

// The probe asks where the server listens, on loopback when it listens on
// every address, by the scheme it serves.
func TestHealthcheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		tls  bool
		want string
	}{
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080/rest/"},
		{":8080", false, "http://127.0.0.1:8080/rest/"},
		{"[::]:8080", false, "http://[::1]:8080/rest/"},
		{"127.0.0.2:9000", true, "https://127.0.0.2:9000/rest/"},
		{"localhost:8443", true, "https://localhost:8443/rest/"},
	}
	for _, tt := range tests {
		o := defaultOptions()
		o.addr, o.tls = tt.addr, tt.tls
		got, err := probeBase(o)
		if err != nil || got.String() != tt.want {
			t.Errorf("probeBase(%s, tls %t) = %v, %v; want %s", tt.addr, tt.tls, got, err, tt.want)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "8080", "127.0.0.1"} {
		o := defaultOptions()
		o.addr = addr
		if _, err := probeBase(o); err == nil {
			t.Errorf("probeBase(%s) = nil error, want one", addr)
		} else if exitStatus(err) != 2 || !strings.Contains(err.Error(), addr) {
			t.Errorf("probeBase(%s) = %v (exit %d), want a usage error naming the address", addr, err, exitStatus(err))
		}
	}
}

// -healthcheck has no environment variable: REFSERVER_HEALTHCHECK does not
// turn a start into a health check.
func TestHealthcheckHasNoEnvironmentVariable(t *testing.T) {
	t.Parallel()
	o, err := parseOptions(nil, envFunc(map[string]string{envName(healthcheckFlag): "true"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.healthcheck {
		t.Errorf("%s=true set -healthcheck", envName(healthcheckFlag))
	}
}
