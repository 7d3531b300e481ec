package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

// serverTLSConfig is the TLS configuration of the server: TLS 1.2 and 1.3,
// and of TLS 1.2 only the suites with forward secrecy (ECDHE) and
// authenticated encryption (GCM, ChaCha20-Poly1305): no CBC, no SHA-1 MAC,
// no RSA key exchange. TLS 1.3's suites are all of that kind.
func serverTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// selfSignedLifetime is how long a generated certificate is valid; a new one
// is made at every start.
const selfSignedLifetime = 365 * 24 * time.Hour

// serverCertificate returns the certificate to serve: the files given, or a
// self-signed one for addr. With certOut, a generated certificate is also
// written there in PEM, for clients to trust.
func serverCertificate(o options, now time.Time) (tls.Certificate, error) {
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("load TLS certificate %s and key %s: %w", o.tlsCert, o.tlsKey, err)
		}
		return cert, nil
	}
	cert, err := selfSignedCertificate(o.addr, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	if o.tlsCertOut != "" {
		block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
		// A certificate is public: readable by the clients that trust it.
		if err := os.WriteFile(o.tlsCertOut, block, 0o644); err != nil { //nolint:gosec // G306: a certificate is public
			return tls.Certificate{}, fmt.Errorf("write TLS certificate: %w", err)
		}
	}
	return cert, nil
}

// selfSignedCertificate makes an ECDSA P-256 certificate for the loopback
// names and the host of addr.
func selfSignedCertificate(addr string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate certificate serial number: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Horizon reference server (self-signed)"},
		NotBefore:             now.Add(-time.Hour), // tolerates clients whose clock is a little behind
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		if ip := net.ParseIP(host); ip != nil {
			// A wildcard address names no host a client could connect to.
			if !ip.IsUnspecified() && !slices.ContainsFunc(template.IPAddresses, ip.Equal) {
				template.IPAddresses = append(template.IPAddresses, ip)
			}
		} else if !slices.Contains(template.DNSNames, host) {
			template.DNSNames = append(template.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse generated TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// fingerprint is the SHA-256 digest of a DER certificate in the form browsers
// and openssl show: AB:CD:...
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
