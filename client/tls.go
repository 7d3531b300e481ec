package client

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// WithCAPool makes the client trust the certificates in pool, and only those,
// for the server's certificate: for a Connection Server whose certificate is
// signed by a private CA, or is self-signed. It cannot be combined with
// WithHTTPClient; configure that client's transport instead.
func WithCAPool(pool *x509.CertPool) Option {
	return func(s *settings) error {
		if pool == nil {
			return fmt.Errorf("%w: WithCAPool: nil pool", ErrInvalidInput)
		}
		s.rootCAs = pool
		return nil
	}
}

// WithCACertFile is WithCAPool with the PEM certificates of a file, such as
// the one the reference server writes with -tls-cert-out.
func WithCACertFile(path string) Option {
	return func(s *settings) error {
		pemData, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w: WithCACertFile: %w", ErrInvalidInput, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return fmt.Errorf("%w: WithCACertFile: %s holds no PEM certificate", ErrInvalidInput, path)
		}
		s.rootCAs = pool
		return nil
	}
}

// WithInsecureSkipVerify turns off every check of the server's certificate.
//
// UNSAFE: anyone between the client and the server can then read and change
// everything, the password and tokens included. Prefer WithCACertFile with
// the Connection Server's certificate; use this only against a test server.
func WithInsecureSkipVerify() Option {
	return func(s *settings) error {
		s.insecure = true
		return nil
	}
}

// buildHTTPClient is the HTTP client the settings ask for.
func (s settings) buildHTTPClient() (*http.Client, error) {
	tlsOptions := s.rootCAs != nil || s.insecure
	switch {
	case s.rootCAs != nil && s.insecure:
		return nil, fmt.Errorf("%w: WithInsecureSkipVerify turns off the checks that WithCAPool or WithCACertFile configure: choose one", ErrInvalidInput)
	case s.httpClient != nil && tlsOptions:
		return nil, fmt.Errorf("%w: TLS options cannot change the client of WithHTTPClient: set its transport's TLS configuration instead", ErrInvalidInput)
	case s.httpClient != nil:
		return s.httpClient, nil
	case !tlsOptions:
		return &http.Client{}, nil
	}
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("client: http.DefaultTransport is a %T, not an *http.Transport", http.DefaultTransport)
	}
	transport := base.Clone()
	transport.TLSClientConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            s.rootCAs,
		InsecureSkipVerify: s.insecure, //nolint:gosec // G402: asked for by name, WithInsecureSkipVerify
	}
	return &http.Client{Transport: transport}, nil
}
