package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hzkit/sendmessage/gen/apiclient"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// healthcheckFlag turns a start into one question to a running server: is it
// healthy? It is a container's health check, where no shell or curl exists.
// Like -version it has no environment variable, which would turn every start
// into a health check; it reads the others to find the server.
const healthcheckFlag = "healthcheck"

const healthcheckUsage = "ask the health operation of the server that the other flags and REFSERVER_* variables describe " +
	"(its -addr, with 127.0.0.1 for 0.0.0.0; HTTPS with -tls or -tls-cert) and exit: 0 healthy, 1 not; for a container's health check"

// healthcheckTimeout bounds the probe; container engines allow a health
// check 30 s unless told otherwise.
const healthcheckTimeout = 5 * time.Second

// errUnhealthy marks a probe that did not find a healthy server.
var errUnhealthy = errors.New("unhealthy")

// exitStatus is the program's exit status for what run returned: 1 for an
// unhealthy server, as container health checks read it; 2 for other errors.
func exitStatus(err error) int {
	if errors.Is(err, errUnhealthy) {
		return 1
	}
	return 2
}

// healthcheck asks the health operation of the server that o describes and
// says what it found on stdout; an error wraps errUnhealthy unless o itself
// is unusable.
func healthcheck(ctx context.Context, o options, stdout io.Writer) error {
	base, err := probeBase(o)
	if err != nil {
		return err
	}
	transport := &http.Transport{Proxy: nil, ForceAttemptHTTP2: true}
	if base.Scheme == "https" {
		// The probe sends no secret and reads only the health answer; the
		// certificate -tls makes is new at every start, so nothing could
		// verify it. What is checked is that this server answers healthy.
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // G402: see above
	}
	defer transport.CloseIdleConnections()
	api, err := apiclient.NewClientWithResponses(base.String(),
		apiclient.WithHTTPClient(&http.Client{Transport: transport, Timeout: healthcheckTimeout}))
	if err != nil {
		return fmt.Errorf("health check of %s: %w", base, err)
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	resp, err := api.GetHealthWithResponse(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnhealthy, err)
	}
	where := resp.HTTPResponse.Request.URL.String()
	if resp.JSON200 == nil && resp.StatusCode() == http.StatusBadRequest && base.Scheme == "http" {
		// Go's HTTPS server answers a plain HTTP request so.
		return fmt.Errorf("%w: %s answered %s: if the server serves HTTPS, give the health check its -tls or -tls-cert (REFSERVER_TLS, REFSERVER_TLS_CERT) too",
			errUnhealthy, where, resp.Status())
	}
	if resp.JSON200 == nil {
		return fmt.Errorf("%w: %s answered %s", errUnhealthy, where, resp.Status())
	}
	if resp.JSON200.Status != model.HealthStatusOk {
		return fmt.Errorf("%w: %s answered status %q", errUnhealthy, where, resp.JSON200.Status)
	}
	_, err = fmt.Fprintf(stdout, "healthy: %s: %d sessions\n", where, resp.JSON200.Sessions)
	return err
}

// probeBase is the API's base URL of the server that o describes, as seen
// from the same host: an unspecified listen address is asked on loopback.
func probeBase(o options) (*url.URL, error) {
	host, port, err := net.SplitHostPort(o.addr)
	if err != nil {
		return nil, fmt.Errorf("health check: listen address %q: %w", o.addr, err)
	}
	if port == "0" {
		return nil, fmt.Errorf("health check: listen address %q has no fixed port to ask", o.addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http"
	if o.tls || o.tlsCert != "" {
		scheme = "https"
	}
	// The generated client adds the operation's path to this base.
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), Path: server.BasePath + "/"}, nil
}
