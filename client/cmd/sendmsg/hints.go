package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/hzkit/sendmessage/client"
)

// hinted is an error with advice on what to do about it; main prints the
// advice under the error.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// explain adds advice to the errors an administrator can act on.
func explain(err error, o *options) error {
	if err == nil {
		return nil
	}
	if hint := hintFor(err, o); hint != "" {
		return &hinted{err: err, hint: hint}
	}
	return err
}

func hintFor(err error, o *options) string {
	server, _ := url.Parse(o.Server)
	if server == nil {
		server = &url.URL{}
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		notTLS    tls.RecordHeaderError
		apiErr    *client.APIError
	)
	switch {
	case errors.As(err, &unknownCA) && o.CAFile != "":
		return fmt.Sprintf("The server's certificate is not signed by a certificate in %s (%s). The reference server makes a new certificate at every start: have its -tls-cert-out write the file again.", o.CAFile, o.CASource())
	case errors.As(err, &unknownCA):
		return "The server's certificate is not signed by an authority this computer trusts. Give the certificate to trust with --ca-file FILE (or " + envCACert + "); for the reference server, that is the file its -tls-cert-out option writes. Against a test server only, --insecure skips the check, and with it all protection of the password and the tokens."
	case errors.As(err, &hostname):
		return fmt.Sprintf("The server's certificate is not for %q: give --server the name or address it is for (%s).", hostname.Host, certificateNames(hostname.Certificate))
	case errors.As(err, &invalid):
		return "The server's certificate is not valid now: check it, and this computer's clock."
	case errors.Is(err, http.ErrSchemeMismatch):
		return fmt.Sprintf("%s answered in plain HTTP, not HTTPS, as the reference server does without -tls. For such a test server, use --server http://%s (the password then travels unprotected).", server.Host, hostPath(server))
	case errors.As(err, &notTLS):
		return fmt.Sprintf("%s does not speak TLS: it may serve plain HTTP, as the reference server does without -tls. For such a test server, use --server http://%s (the password then travels unprotected).", server.Host, hostPath(server))
	case errors.As(err, &apiErr) && server.Scheme == "http" && apiErr.StatusCode == http.StatusBadRequest && len(apiErr.Messages) == 0:
		return fmt.Sprintf("The server answered 400 without a reason, as a server that speaks HTTPS answers plain HTTP: use --server https://%s", hostPath(server))
	case server.Scheme == "http" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		return fmt.Sprintf("The connection closed without an answer, as a server that speaks HTTPS may close plain HTTP: if it does, use --server https://%s", hostPath(server))
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Nothing answers at %s: is the server running, and are the host and port of --server right?", server.Host)
	}
	return ""
}

// hostPath is the server's URL without its scheme.
func hostPath(server *url.URL) string {
	return server.Host + strings.TrimSuffix(server.Path, "/")
}

// certificateNames lists the names and addresses a certificate is for.
func certificateNames(cert *x509.Certificate) string {
	if cert == nil {
		return "see the certificate"
	}
	names := append([]string(nil), cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "it names none: ask for a certificate with the server's name"
	}
	return strings.Join(names, ", ")
}
