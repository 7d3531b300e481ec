package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hzkit/sendmessage/client"
)

// verdict is what a failed request allows.
type verdict int

const (
	// final: do not try again; the server did not act on the request.
	final verdict = iota
	// again: the server did not act on the request; it may be tried again.
	again
	// unknown: the server may have acted on the request; it must not be
	// sent again.
	unknown
)

// sendMessagePath ends the path of the send-message operation.
const sendMessagePath = "/inventory/v1/sessions/action/send-message"

// lookupVerdict judges a failed request that is safe to repeat: a login or a
// listing. It is tried again after a connection failure, and after an answer
// that says the server or a gateway in front of it is busy or down.
func lookupVerdict(err error) verdict {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return again
		}
		return final
	}
	if connectionFailed(err) {
		return again
	}
	return final
}

// sendVerdict judges a failed send-message call. Requests the client makes
// on the way (a token refresh, a new login) are judged as lookups: the
// message was not sent yet. The send itself is tried again only when the
// server cannot have acted: the connection was refused, or the answer is 429
// or 503. Any other 5xx, or an answer lost or unreadable, may come after the
// server delivered the message: its outcome is unknown.
func sendVerdict(err error) verdict {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		switch {
		case !isSendMessage(apiErr.URL):
			return lookupVerdict(err)
		case apiErr.StatusCode == http.StatusTooManyRequests, apiErr.StatusCode == http.StatusServiceUnavailable:
			return again
		case apiErr.StatusCode >= 500:
			return unknown
		}
		return final
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		switch {
		case !isSendMessage(urlErr.URL):
			return lookupVerdict(err)
		case dialFailed(err):
			return again // nothing reached the server
		case certificateFailed(err):
			return final // refused before the request was written
		}
		return unknown // reset, closed or timed out: the request may have arrived
	}
	if errors.Is(err, client.ErrInvalidInput) || errors.Is(err, client.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return final // before any request: bad input, or waiting for the login
	}
	return unknown // a 200 answer that could not be read
}

func isSendMessage(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && strings.HasSuffix(u.Path, sendMessagePath)
}

// dialFailed reports a failure to connect: the request was never sent.
func dialFailed(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// connectionFailed reports a failure to connect, or a connection that broke
// before an answer came; not a timeout, not a certificate refused.
func connectionFailed(err error) bool {
	if dialFailed(err) {
		return true
	}
	var urlErr *url.Error
	if !errors.As(err, &urlErr) || urlErr.Timeout() || certificateFailed(err) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

func certificateFailed(err error) bool {
	var verifyErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verifyErr) || errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// retrier runs a request with the retries of the command line.
type retrier struct {
	o *options
	d *deps
}

// do runs op, each try within --timeout, and tries again while judge says
// so and --retries allows. It returns judge's verdict on op's last error,
// and that error; final and nil when op succeeded.
func (r retrier) do(ctx context.Context, judge func(error) verdict, op func(context.Context) error) (verdict, error) {
	for attempt := 0; ; attempt++ {
		tryCtx, cancel := context.WithTimeout(ctx, r.o.Timeout)
		err := op(tryCtx)
		cancel()
		if err == nil {
			return final, nil
		}
		v := judge(err)
		if v != again || ctx.Err() != nil {
			return v, err
		}
		if attempt >= r.o.retries {
			return final, fmt.Errorf("%w (%s)", err, tries(attempt+1))
		}
		wait, ok := r.wait(attempt, err)
		if !ok {
			return final, fmt.Errorf("%w: the server asks to wait %s, longer than --retry-max-wait %s", err, wait, r.o.retryMaxWait)
		}
		fmt.Fprintf(r.d.stderr, "sendmsg: %v; retry %d of %d in %s\n", err, attempt+1, r.o.retries, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return final, ctx.Err()
		case <-r.d.clock.After(wait):
		}
	}
}

// tries says how often a request was sent, when it was not retried again.
func tries(n int) string {
	if n == 1 {
		return "not retried: --retries is 0"
	}
	return fmt.Sprintf("tried %d times", n)
}

// wait is how long to wait before retry attempt+1, and whether to wait at
// all: --retry-wait doubled attempt times, capped at --retry-max-wait, of
// which a random part between a half and the whole is waited, so that
// clients that failed together do not come back together. A Retry-After of
// the server is waited in full; one longer than --retry-max-wait is not.
func (r retrier) wait(attempt int, err error) (time.Duration, bool) {
	backoff := r.o.retryWait
	for range attempt {
		if backoff >= r.o.retryMaxWait/2 {
			backoff = r.o.retryMaxWait
			break
		}
		backoff *= 2
	}
	backoff = min(backoff, r.o.retryMaxWait)
	jittered := backoff/2 + time.Duration(r.d.random()*float64(backoff/2))
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		if after, ok := apiErr.RetryAfter(); ok {
			if after > r.o.retryMaxWait {
				return after, false
			}
			return max(after, jittered), true
		}
	}
	return jittered, true
}
