package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Request bodies at once: with a wrong token (never read), and valid ones
// with the right token (read, checked, decoded).
const (
	wrongTokenBodies   = 50
	h2Streams          = 60
	validBodies        = 30 // the burst first measured
	sustainedClients   = 4  // first measured with 2-4 clients: the worst
	sustainedFor       = 15 * time.Second
	sustainedMaxEach   = 2000
	largeLogins        = 8
	largeLoginBytes    = 4 * mib
	bodyAttackerSpread = 25 // bodies per attacker address
)

// maxSizeBody is a valid send-message body at the server's body limit,
// with room for nothing else.
func (h *harness) maxSizeBody() ([]byte, error) { return validSendBody(h.maxBody() - 64) }

// bodiesHTTP1 posts n copies of body at once, each on its own connection,
// and counts the answers.
func bodiesHTTP1(ctx context.Context, s *server, n int, bearer string, body []byte) *tally {
	answers := &tally{}
	head := requestHead(sendPath, s.addr, bearer, len(body))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			answers.add(rawRequest(ctx, attackerIP(i/bodyAttackerSpread), s.addr, head, bytes.NewReader(body)), nil)
		})
	}
	wg.Wait()
	return answers
}

// bodiesHTTP2 posts n copies of body at once as streams of one HTTP/2
// connection, and counts the answers.
func bodiesHTTP2(ctx context.Context, s *server, n int, bearer string, body []byte) (*tally, string) {
	client := newClient(attackerIP(0), clientOptions{http2: true, conns: 1})
	answers := &tally{}
	protos := &tally{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+sendPath, bytes.NewReader(body))
			if err != nil {
				answers.add(0, err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+bearer)
			resp, err := client.Do(req)
			if err != nil {
				answers.add(0, err)
				return
			}
			protos.addKey(resp.Proto)
			resp.Body.Close()
			answers.add(resp.StatusCode, nil)
		})
	}
	wg.Wait()
	return answers, protos.String()
}

// bodyAttack is the frame of the body attacks: a fresh server, the probe
// while copies of body go, the server's memory, the answers.
func (h *harness) bodyAttack(ctx context.Context, tlsOn bool, body []byte, send func(ctx context.Context, s *server) (*tally, string)) (*tally, error) {
	s, p, err := h.startProbed(ctx, startOptions{tls: tlsOn}, false)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	before := s.rss()
	var answers *tally
	var what string
	r := underAttack(ctx, p, func(_ context.Context, ready func()) {
		ready()
		answers, what = send(ctx, s)
	})
	h.memoryRows(s, before)
	h.info("each body (valid JSON)", mb(int64(len(body))))
	h.info(what, answers.String())
	h.probeRows(r)
	return answers, nil
}

func bodyWrongTokenHTTP1(ctx context.Context, h *harness) error {
	return h.wrongTokenBodies(ctx, false)
}

func bodyWrongTokenHTTP2(ctx context.Context, h *harness) error {
	return h.wrongTokenBodies(ctx, true)
}

// wrongTokenBodies: valid bodies at the size limit with a wrong token,
// which the server refuses before it reads a byte of them.
func (h *harness) wrongTokenBodies(ctx context.Context, h2 bool) error {
	body, err := h.maxSizeBody()
	if err != nil {
		return err
	}
	answers, err := h.bodyAttack(ctx, h2, body, func(ctx context.Context, s *server) (*tally, string) {
		if h2 {
			t, protos := bodiesHTTP2(ctx, s, h2Streams, "wrong", body)
			return t, fmt.Sprintf("answers to %d streams at the body limit (%s)", h2Streams, protos)
		}
		return bodiesHTTP1(ctx, s, wrongTokenBodies, "wrong", body), fmt.Sprintf("answers to %d connections at the body limit", wrongTokenBodies)
	})
	if err != nil {
		return err
	}
	h.budget("answers that are 401", fmt.Sprintf("%d of %d", answers.count(http.StatusUnauthorized), answers.total()), "all", answers.count(http.StatusUnauthorized) == answers.total())
	return nil
}

// validBodyRows hold the answers to valid bodies with the right token to
// what they prove: a 400, 401 or 413 says the body or the token was not
// what the attack claims.
func (h *harness) validBodyRows(answers *tally, n int) {
	h.proof("valid bodies, right token: no 400, 401, 413", answers.String(),
		"none", !answers.any(http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge))
	h.budget("valid bodies served (200)", fmt.Sprintf("%d of %d", answers.count(http.StatusOK), n), ">= 1", answers.count(http.StatusOK) >= 1)
}

func validBodiesHTTP1(ctx context.Context, h *harness) error {
	body, err := h.maxSizeBody()
	if err != nil {
		return err
	}
	answers, err := h.bodyAttack(ctx, false, body, func(ctx context.Context, s *server) (*tally, string) {
		return bodiesHTTP1(ctx, s, validBodies, operatorToken, body),
			fmt.Sprintf("answers to %d valid bodies at the limit, at once", validBodies)
	})
	if err != nil {
		return err
	}
	h.validBodyRows(answers, validBodies)
	return nil
}

func validBodiesHTTP2(ctx context.Context, h *harness) error {
	body, err := h.maxSizeBody()
	if err != nil {
		return err
	}
	answers, err := h.bodyAttack(ctx, true, body, func(ctx context.Context, s *server) (*tally, string) {
		t, protos := bodiesHTTP2(ctx, s, h2Streams, operatorToken, body)
		return t, fmt.Sprintf("answers to %d valid streams at the limit (%s)", h2Streams, protos)
	})
	if err != nil {
		return err
	}
	h.validBodyRows(answers, h2Streams)
	return nil
}

// validBodiesSustained: sustainedClients clients, each posting valid
// bodies at the size limit back to back for sustainedFor.
func validBodiesSustained(ctx context.Context, h *harness) error {
	body, err := h.maxSizeBody()
	if err != nil {
		return err
	}
	var cpu time.Duration
	var took time.Duration
	answers, err := h.bodyAttack(ctx, false, body, func(ctx context.Context, s *server) (*tally, string) {
		t := &tally{}
		startCPU, start := s.cpu(), time.Now()
		sctx, cancel := context.WithTimeout(ctx, sustainedFor)
		defer cancel()
		var wg sync.WaitGroup
		for i := range sustainedClients {
			client := newClient(attackerIP(i), clientOptions{conns: 1, timeout: 10 * time.Second})
			wg.Go(func() {
				for range sustainedMaxEach {
					if sctx.Err() != nil {
						return
					}
					status, _, err := post(sctx, client, s.base+sendPath, operatorToken, body)
					if sctx.Err() == nil {
						t.add(status, err)
					}
				}
			})
		}
		wg.Wait()
		cpu, took = s.cpu()-startCPU, time.Since(start)
		return t, fmt.Sprintf("answers, %d clients posting for %s", sustainedClients, sustainedFor)
	})
	if err != nil {
		return err
	}
	h.info("server CPU meanwhile", fmt.Sprintf("%s (%.2f cores)", cpu.Round(10*time.Millisecond), cpu.Seconds()/took.Seconds()))
	h.validBodyRows(answers, answers.total())
	return nil
}

// loginLargeBodies: logins declaring 4 MiB bodies (valid JSON), past the
// login limit: 413 before the body is read.
func loginLargeBodies(ctx context.Context, h *harness) error {
	body, err := paddedBody(`{"username":"administrator","domain":"EXAMPLE","password":"wrong",`, largeLoginBytes)
	if err != nil {
		return err
	}
	answers, err := h.bodyAttack(ctx, false, body, func(ctx context.Context, s *server) (*tally, string) {
		t := &tally{}
		head := requestHead(loginPath, s.addr, "", len(body))
		var wg sync.WaitGroup
		for i := range largeLogins {
			wg.Go(func() { t.add(rawRequest(ctx, attackerIP(i), s.addr, head, bytes.NewReader(body)), nil) })
		}
		wg.Wait()
		return t, fmt.Sprintf("answers to %d logins of %s", largeLogins, mb(largeLoginBytes))
	})
	if err != nil {
		return err
	}
	n := answers.count(http.StatusRequestEntityTooLarge)
	h.budget("answers that are 413", fmt.Sprintf("%d of %d", n, largeLogins), "all", n == largeLogins)
	return nil
}
