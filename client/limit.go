package client

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrResponseTooLarge is returned when a response body is longer than the
// client's limit (WithMaxResponseBytes).
var ErrResponseTooLarge = errors.New("response body too large")

// limitedDoer bounds every response body it hands back.
type limitedDoer struct {
	client *http.Client
	max    int64
}

func (d limitedDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req) //nolint:gosec // G704: the server URL is the caller's own choice, as in any API client

	if err != nil {
		return nil, err // the caller wraps it with the operation
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, remaining: d.max, limit: d.max}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	remaining, limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining < 0 {
		return 0, fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, b.limit)
	}
	// Read one byte past the limit to tell "exactly at" from "over".
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.remaining -= int64(n)
	if b.remaining < 0 {
		return n, fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, b.limit)
	}
	return n, err
}
