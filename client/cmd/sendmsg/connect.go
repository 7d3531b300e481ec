package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/hzkit/sendmessage/client"
)

// clientHorizon is horizon over the public client.
type clientHorizon struct{ c *client.Client }

// connect logs in to the server o names, or uses o's token. A login that
// fails on the way is tried again as --retries allows: logging in twice does
// no harm.
func connect(ctx context.Context, o *options, d *deps) (horizon, error) {
	opts := []client.Option{client.WithUserAgent("sendmsg")}
	if o.caFile != "" {
		pool, err := caPool(o)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithCAPool(pool))
	}
	if o.insecure {
		opts = append(opts, client.WithInsecureSkipVerify())
	}
	if o.token != "" {
		c, err := client.New(o.server, append(opts, client.WithToken(o.token))...)
		if err != nil {
			return nil, &usageErr{cmd: "sendmsg", err: err}
		}
		return clientHorizon{c}, nil
	}
	password, err := readPassword(o, d)
	if err != nil {
		return nil, err
	}
	creds := client.Credentials{Username: o.username, Password: password, Domain: o.domain}
	var c *client.Client
	_, err = retrier{o: o, d: d}.do(ctx, lookupVerdict, func(ctx context.Context) error {
		var err error
		c, err = client.Login(ctx, o.server, creds, opts...)
		return err
	})
	switch {
	case errors.Is(err, client.ErrInvalidInput):
		return nil, &usageErr{cmd: "sendmsg", err: err} // such as a --server without https://
	case err != nil:
		return nil, err // it names the user, and the URL of the request
	}
	return clientHorizon{c}, nil
}

// caPool reads the certificates of --ca-file (or HORIZON_CACERT).
func caPool(o *options) (*x509.CertPool, error) {
	source := "--ca-file"
	if o.caFileFromEnv {
		source = envCACert
	}
	pemData, err := os.ReadFile(o.caFile)
	if err != nil {
		return nil, &usageErr{cmd: "sendmsg", err: fmt.Errorf("%s: %w", source, err)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, &usageErr{cmd: "sendmsg", err: fmt.Errorf("%s: %s holds no PEM certificate", source, o.caFile)}
	}
	return pool, nil
}

// readPassword takes the password from --password-file, the environment, or
// a prompt that does not echo, in that order.
func readPassword(o *options, d *deps) (string, error) {
	if o.passwordFile != "" {
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if p := d.getenv(envPassword); p != "" {
		return p, nil
	}
	f, ok := d.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", usageError("no password: set %s, give --password-file, or run in a terminal to be asked", envPassword)
	}
	fmt.Fprintf(d.stderr, "Password for %s\\%s: ", o.domain, o.username)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(d.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

func (h clientHorizon) SendMessage(ctx context.Context, t client.MessageType, message string, ids []string) (client.Results, error) {
	return h.c.SendMessage(ctx, t, message, ids) // its errors name the request
}

// Targets asks the server for the sessions the filter flags select.
func (h clientHorizon) Targets(ctx context.Context, o *options) ([]target, error) {
	var filters []client.Filter
	// A slice, not a map: the same flags send the same filter every time.
	for _, f := range []struct{ field, value string }{
		{"desktop_pool_id", o.pool}, {"user_id", o.user}, {"machine_id", o.machine}, {"session_state", o.state},
	} {
		if f.value != "" {
			filters = append(filters, client.Equals(f.field, f.value))
		}
	}
	var filter client.Filter
	if len(filters) == 1 {
		filter = filters[0]
	} else if len(filters) > 1 {
		filter = client.And(filters...)
	}
	return h.list(ctx, filter, nil)
}

// lookupChunk is how many ids one lookup asks for: a filter of 25 ids keeps
// the request's URL under 4 KB.
const lookupChunk = 25

// Lookup asks for the sessions with the given ids, a few ids per request.
func (h clientHorizon) Lookup(ctx context.Context, ids []string) ([]target, error) {
	var out []target
	for start := 0; start < len(ids); start += lookupChunk {
		var byID []client.Filter
		for _, id := range ids[start:min(start+lookupChunk, len(ids))] {
			byID = append(byID, client.Equals("id", id))
		}
		filter := byID[0]
		if len(byID) > 1 {
			filter = client.Or(byID...)
		}
		var err error
		if out, err = h.list(ctx, filter, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// list appends the sessions filter selects to out.
func (h clientHorizon) list(ctx context.Context, filter client.Filter, out []target) ([]target, error) {
	for s, err := range h.c.Sessions(ctx, filter) {
		if err != nil {
			return nil, err // it says "list sessions" and the page
		}
		out = append(out, target{
			ID: s.ID, User: s.UserID, Machine: s.MachineID,
			Pool: s.DesktopPoolID, State: string(s.State),
		})
	}
	return out, nil
}

// Close logs out; the client's error says so.
func (h clientHorizon) Close(ctx context.Context) error { return h.c.Close(ctx) }
