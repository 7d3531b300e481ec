package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/internal/connflags"
)

// clientHorizon is horizon over the public client.
type clientHorizon struct{ c *client.Client }

// connect logs in to the server o names, or uses o's token.
func connect(ctx context.Context, o *options, d *deps) (horizon, error) {
	c, err := newClient(ctx, o, d, nil)
	if err != nil {
		return nil, err
	}
	return clientHorizon{c}, nil
}

// newClient logs in to the server o names, or uses o's token. A login that
// fails on the way is tried again as --retries allows: logging in twice does
// no harm. wrap, when not nil, wraps the HTTP transport.
func newClient(ctx context.Context, o *options, d *deps, wrap func(http.RoundTripper) http.RoundTripper) (*client.Client, error) {
	httpClient, err := o.HTTPClient()
	if err != nil {
		return nil, usageIf(err)
	}
	if wrap != nil {
		httpClient.Transport = wrap(httpClient.Transport)
	}
	opts := []client.Option{client.WithUserAgent("sendmsg"), client.WithHTTPClient(httpClient)}
	if o.Token != "" {
		c, err := client.New(o.Server, append(opts, client.WithToken(o.Token))...)
		if err != nil {
			return nil, &usageErr{cmd: "sendmsg", err: err}
		}
		return c, nil
	}
	password, err := o.Password(d.getenv, d.stdin, d.stderr)
	if err != nil {
		return nil, usageIf(err)
	}
	creds := client.Credentials{Username: o.Username, Password: password, Domain: o.Domain}
	var c *client.Client
	_, err = retrier{o: o, d: d}.do(ctx, lookupVerdict, func(ctx context.Context) error {
		var err error
		c, err = client.Login(ctx, o.Server, creds, opts...)
		return err
	})
	switch {
	case errors.Is(err, client.ErrInvalidInput):
		return nil, &usageErr{cmd: "sendmsg", err: err} // such as a --server without https://
	case err != nil:
		return nil, err // it names the user, and the URL of the request
	}
	return c, nil
}

// usageIf marks the connection settings' usage errors as sendmsg's.
func usageIf(err error) error {
	if errors.Is(err, connflags.ErrUsage) {
		return &usageErr{cmd: "sendmsg", err: err}
	}
	return err
}

func (h clientHorizon) SendMessage(ctx context.Context, t client.MessageType, message string, ids []string) (client.Results, error) {
	return h.c.SendMessage(ctx, t, message, ids) // its errors name the request
}

// Targets asks the server for the sessions the filter flags select.
func (h clientHorizon) Targets(ctx context.Context, o *options) ([]target, error) {
	var filters []client.Filter
	for _, f := range o.targetFilters() {
		if f.want != "" {
			filters = append(filters, client.Equals(f.field, f.want))
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
