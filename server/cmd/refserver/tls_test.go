package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/internal/spectest"
)

func TestSelfSignedCertificate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	loopback := []string{"127.0.0.1", "::1"}
	tests := []struct {
		addr    string
		wantIPs []string
		wantDNS []string
	}{
		{"127.0.0.1:8443", loopback, []string{"localhost"}},
		{"localhost:8443", loopback, []string{"localhost"}},
		{"[::1]:8443", loopback, []string{"localhost"}},
		{"horizon.example.test:443", loopback, []string{"localhost", "horizon.example.test"}},
		{"192.0.2.10:443", append(slices.Clone(loopback), "192.0.2.10"), []string{"localhost"}},
		{":8443", loopback, []string{"localhost"}},
		{"0.0.0.0:8443", loopback, []string{"localhost"}},
		{"[::]:8443", loopback, []string{"localhost"}},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			cert, err := selfSignedCertificate(tt.addr, now)
			if err != nil {
				t.Fatal(err)
			}
			leaf := cert.Leaf
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if diff := cmp.Diff(tt.wantIPs, ips); diff != "" {
				t.Errorf("IP SANs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDNS, leaf.DNSNames); diff != "" {
				t.Errorf("DNS SANs (-want +got):\n%s", diff)
			}
			key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
			if !ok || key.Curve != elliptic.P256() {
				t.Errorf("public key %T, want ECDSA P-256", leaf.PublicKey)
			}
			if !leaf.NotBefore.Before(now) || !leaf.NotAfter.After(now.Add(300*24*time.Hour)) {
				t.Errorf("validity %s to %s does not cover now and the months after", leaf.NotBefore, leaf.NotAfter)
			}
			pool := x509.NewCertPool()
			pool.AddCert(leaf)
			for _, name := range append(ips, leaf.DNSNames...) {
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: now}); err != nil {
					t.Errorf("a client that trusts the certificate refuses it for %s: %v", name, err)
				}
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	// The SHA-256 of "abc", in openssl's notation.
	want := "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
	if got := fingerprint([]byte("abc")); got != want {
		t.Errorf("fingerprint = %s, want %s", got, want)
	}
}

// httpsClient trusts only the PEM certificates in file and checks every
// answer against the spec.
func httpsClient(t *testing.T, file string, maxVersion uint16) *http.Client {
	t.Helper()
	pemData, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatalf("%s holds no PEM certificate", file)
	}
	// MinVersion is low so that old clients can prove the server refuses them.
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: maxVersion}}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: spectest.Load(t).Transport(t, transport)}
}

func pemCertificate(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	pemData, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemData)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s is not a PEM certificate", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestRunSelfSignedTLS(t *testing.T) {
	t.Parallel()
	certFile := filepath.Join(t.TempDir(), "refserver.pem")
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-token", "tok-tls", "-tls", "-tls-cert-out", certFile}, nil)
	if !strings.HasPrefix(r.base, "https://") {
		t.Fatalf("listening on %s, want https", r.base)
	}
	out := r.stdout.waitFor(t, "fingerprint line", func(s string) bool { return strings.Contains(s, printLine) }, r)
	if got, want := stdoutValue(t, out, printLine), fingerprint(pemCertificate(t, certFile).Raw); got != want {
		t.Errorf("printed fingerprint %s, the certificate written has %s", got, want)
	}

	tests := []struct {
		name       string
		maxVersion uint16
		wantErr    string
	}{
		{"TLS 1.3", tls.VersionTLS13, ""},
		{"TLS 1.2", tls.VersionTLS12, ""},
		{"TLS 1.1 refused", tls.VersionTLS11, "protocol version"},
	}
	for _, tt := range tests {
		client := httpsClient(t, certFile, tt.maxVersion)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, r.base+healthPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.wantErr)
			}
			if resp != nil {
				resp.Body.Close()
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version != tt.maxVersion {
			t.Errorf("%s: status %d, TLS %+v", tt.name, resp.StatusCode, resp.TLS)
		}
	}

	// A client that does not trust the certificate refuses the server.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, r.base+healthPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	resp, err := (&http.Client{Transport: transport}).Do(req)
	var unknownAuthority x509.UnknownAuthorityError
	if !errors.As(err, &unknownAuthority) {
		t.Errorf("untrusting client: err = %v, want x509.UnknownAuthorityError", err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}

func TestRunGivenCertificate(t *testing.T) {
	t.Parallel()
	cert, err := selfSignedCertificate("127.0.0.1:0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	private, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("private key %T, want ECDSA", cert.PrivateKey)
	}
	key, err := x509.MarshalECPrivateKey(private)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})))
	keyFile := writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: key})))

	r := startRun(t, nil, map[string]string{
		"REFSERVER_ADDR": "127.0.0.1:0", "REFSERVER_TOKEN": "tok-given-cert",
		"REFSERVER_TLS_CERT": certFile, "REFSERVER_TLS_KEY": keyFile,
	})
	out := r.stdout.waitFor(t, "fingerprint line", func(s string) bool { return strings.Contains(s, printLine) }, r)
	if got, want := stdoutValue(t, out, printLine), fingerprint(cert.Certificate[0]); got != want {
		t.Errorf("printed fingerprint %s, want the given certificate's %s", got, want)
	}
	status, body := post(t, httpsClient(t, certFile, tls.VersionTLS13), r.base, "tok-given-cert", seedRequest)
	wantDelivered(t, status, body, seedID)
}
