package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Failed logins: guessing one account's password from one address and from
// many, floods of failures, and failures that fill the throttle's tables.
const (
	guessEvery   = 50 * time.Millisecond // 20 a second, as first measured
	guessFor     = 4 * time.Second
	adminEvery   = 300 * time.Millisecond
	floodWorkers = 4
	floodFor     = 2 * time.Second
)

// adminLogins logs the administrator in with the right password n times,
// every adminEvery, from adminIP, and returns how many got 200 and the
// slowest answer.
func adminLoginTries(ctx context.Context, s *server, n int) (int, *tally, time.Duration) {
	client := newClient(adminIP, clientOptions{timeout: 5 * time.Second})
	answers := &tally{}
	ok := 0
	var slowest time.Duration
	for i := range n {
		if i > 0 {
			time.Sleep(adminEvery)
		}
		start := time.Now()
		status, _, err := post(ctx, client, s.base+loginPath, "", loginBody(adminUser, adminPassword))
		slowest = max(slowest, time.Since(start))
		answers.add(status, err)
		if status == http.StatusOK {
			ok++
		}
	}
	return ok, answers, slowest
}

// loginGuessing: wrong passwords for the administrator from one address,
// 20 a second, while the administrator logs in from another.
func loginGuessing(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	p, err := newProber(ctx, s)
	if err != nil {
		return err
	}
	guesses := &tally{}
	var adminOK int
	var admin *tally
	r := underAttack(ctx, p, func(_ context.Context, ready func()) {
		var wg sync.WaitGroup
		wg.Go(func() {
			client := newClient(guesserIP, clientOptions{conns: 1, timeout: 5 * time.Second})
			tick := time.NewTicker(guessEvery)
			defer tick.Stop()
			for i := range int(guessFor / guessEvery) {
				status, _, err := post(ctx, client, s.base+loginPath, "", loginBody(adminUser, fmt.Sprintf("guess-%d", i)))
				guesses.add(status, err)
				if i == 10 {
					ready() // the pair is throttled by now
				}
				<-tick.C
			}
		})
		wg.Go(func() {
			time.Sleep(10 * guessEvery)
			adminOK, admin, _ = adminLoginTries(ctx, s, adminLogins)
		})
		wg.Wait()
	})
	h.info("wrong passwords for administrator from 127.0.0.2", guesses.String())
	h.proof("guesses checked as wrong passwords (401)", fmt.Sprint(guesses.count(http.StatusUnauthorized)), ">= 1",
		guesses.count(http.StatusUnauthorized) >= 1)
	h.budget("administrator, right password, from 127.0.0.3 meanwhile", fmt.Sprintf("%d of %d (%s)", adminOK, adminLogins, admin),
		fmt.Sprintf("%d of %d", adminLogins, adminLogins), adminOK == adminLogins)
	h.probeRows(r)
	return nil
}

// loginFlood: failed logins of made-up users from one address, as fast as
// 4 workers go, for 2 s.
func loginFlood(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(guesserIP, clientOptions{conns: floodWorkers})
	answers := &tally{}
	end := time.Now().Add(floodFor)
	var wg sync.WaitGroup
	for w := range floodWorkers {
		wg.Go(func() {
			for i := 0; time.Now().Before(end) && i < 100000; i++ {
				status, _, err := post(ctx, client, s.base+loginPath, "", loginBody(fmt.Sprintf("guess%d-%d", w, i%7), "wrong"))
				answers.add(status, err)
			}
		})
	}
	wg.Wait()
	failures := answers.count(http.StatusUnauthorized)
	h.info(fmt.Sprintf("failed logins from one address in %s", floodFor), answers.String())
	h.budget("of them 401 (the rest 429)", fmt.Sprint(failures), fmt.Sprintf("<= %d", maxFloodFailures),
		failures <= maxFloodFailures && answers.count(http.StatusTooManyRequests) > 0)
	return nil
}
