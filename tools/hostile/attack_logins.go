package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
)

// Failed logins: guessing one account's password from one address and from
// many, floods of failures, and failures that fill the throttle's tables.
const (
	guessEvery       = 50 * time.Millisecond // 20 a second, as first measured
	guessFor         = 4 * time.Second
	adminEvery       = 300 * time.Millisecond
	spreadAddresses  = 50
	spreadEach       = 4
	spreadHead       = 40 // failures before the spread is counted as slowed
	spreadAdminTries = 5
	floodWorkers     = 4
	floodFor         = 2 * time.Second
	longNameLength   = model.AuthLoginUsernameMaxLength // the longest name the spec lets a login carry
	longNameAddrs    = 5500                             // 110,000 failures from 5,500 addresses, as first measured
	longNamesEach    = 20
	longNameWorkers  = 8
	longNamesFor     = 15 * time.Second
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
	s, p, err := h.startProbed(ctx, startOptions{}, false)
	if err != nil {
		return err
	}
	defer s.stop()
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

// loginSpreadGuessing: wrong passwords for the administrator from many
// addresses at once: past the design's account-wide count, failures are
// answered late; the right password from another address is not.
func loginSpreadGuessing(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	guesses := &tally{}
	var mu sync.Mutex
	var order atomic.Int64
	late := []time.Duration{}
	var adminOK int
	var admin *tally
	var adminSlowest time.Duration
	r := underAttack(ctx, p, func(_ context.Context, ready func()) {
		var wg sync.WaitGroup
		for a := range spreadAddresses {
			client := newClient(attackerIP(a), clientOptions{conns: 1, timeout: 5 * time.Second})
			wg.Go(func() {
				for i := range spreadEach {
					n := order.Add(1)
					start := time.Now()
					status, _, err := post(ctx, client, s.base+loginPath, "", loginBody(adminUser, fmt.Sprintf("guess-%d-%d", a, i)))
					guesses.add(status, err)
					if n > spreadHead && status != http.StatusOK {
						mu.Lock()
						late = append(late, time.Since(start))
						mu.Unlock()
					}
				}
			})
		}
		ready()
		time.Sleep(200 * time.Millisecond)
		adminOK, admin, adminSlowest = adminLoginTries(ctx, s, spreadAdminTries)
		wg.Wait()
	})
	h.info(fmt.Sprintf("wrong passwords for administrator, %d addresses x %d", spreadAddresses, spreadEach), guesses.String())
	h.proof("guesses checked as wrong passwords (401)", fmt.Sprint(guesses.count(http.StatusUnauthorized)), ">= 1",
		guesses.count(http.StatusUnauthorized) >= 1)
	lateMedian := median(late)
	h.budget(fmt.Sprintf("failures after the first %d: median answer time", spreadHead), lateMedian.Round(time.Millisecond).String(),
		">= "+minSpreadDelay.String(), lateMedian >= minSpreadDelay)
	h.budget("administrator, right password, from 127.0.0.3 meanwhile", fmt.Sprintf("%d of %d (%s)", adminOK, spreadAdminTries, admin),
		fmt.Sprintf("%d of %d", spreadAdminTries, spreadAdminTries), adminOK == spreadAdminTries)
	h.budget("  its slowest answer", adminSlowest.Round(time.Millisecond).String(), "< "+maxAdminLoginLatency.String(), adminSlowest < maxAdminLoginLatency)
	h.probeRows(r)
	return nil
}

// loginFlood: failed logins of made-up users from one address, as fast as
// 4 workers go, for 2 s.
func loginFlood(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(guesserIP, clientOptions{conns: floodWorkers})
	answers := &tally{}
	r := underAttack(ctx, p, func(_ context.Context, ready func()) {
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
		ready()
		wg.Wait()
	})
	failures := answers.count(http.StatusUnauthorized)
	h.info(fmt.Sprintf("failed logins from one address in %s", floodFor), answers.String())
	h.budget("of them 401 (the rest 429)", fmt.Sprint(failures), fmt.Sprintf("<= %d", maxFloodFailures),
		failures <= maxFloodFailures && answers.count(http.StatusTooManyRequests) > 0)
	h.probeRows(r)
	return nil
}

// loginLongNames: failed logins with 4,000-character user names, 20 from
// each of 5,500 addresses, as many as go in longNamesFor: the throttle's
// tables must stay bounded.
func loginLongNames(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.rss()
	answers := &tally{}
	var addresses atomic.Int64
	r := underAttack(ctx, p, func(_ context.Context, ready func()) {
		lctx, cancel := context.WithTimeout(ctx, longNamesFor)
		defer cancel()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range longNameWorkers {
			wg.Go(func() {
				for a := int(next.Add(1)) - 1; a < longNameAddrs && lctx.Err() == nil; a = int(next.Add(1)) - 1 {
					longNameLogins(lctx, attackerIP(a), s.addr, a, answers)
					addresses.Add(1)
					if a == 2*longNameWorkers {
						ready()
					}
				}
			})
		}
		wg.Wait()
	})
	h.memoryRows(s, before)
	time.Sleep(2 * time.Second)
	h.info("RSS 2 s after", mb(s.rss()))
	h.info(fmt.Sprintf("logins, %d-character names, %d an address", longNameLength, longNamesEach), fmt.Sprintf("%d addresses: %s", addresses.Load(), answers))
	h.proof("valid logins within the limit: no 400, 413", answers.String(), "none",
		!answers.any(http.StatusBadRequest, http.StatusRequestEntityTooLarge))
	ok, admin, _ := adminLoginTries(ctx, s, 1)
	h.budget("administrator, right password, from 127.0.0.3 after", admin.String(), "200", ok == 1)
	h.probeRows(r)
	return nil
}

// longNameLogins sends longNamesEach failed logins with long, distinct user
// names over one keep-alive connection from ip.
func longNameLogins(ctx context.Context, ip net.IP, addr string, a int, answers *tally) {
	conn, err := dialFrom(ctx, ip, addr)
	if err != nil {
		answers.add(0, err)
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	reader := bufio.NewReader(conn)
	for i := range longNamesEach {
		prefix := fmt.Sprintf("%05d-%02d-", a, i)
		body := loginBody(prefix+strings.Repeat("n", longNameLength-len(prefix)), "wrong")
		if _, err := io.WriteString(conn, requestHead(loginPath, addr, "", len(body))+string(body)); err != nil {
			answers.add(0, err)
			return
		}
		resp, err := http.ReadResponse(reader, nil)
		if err != nil {
			answers.add(0, err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answers.add(resp.StatusCode, nil)
		if resp.Close {
			return
		}
	}
}

// loginNameFolding: a name that only folds to the account's name
// (U+0130 for I) is not the account; a name in another case is, and the
// token's subject is the stored spelling.
func loginNameFolding(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(adminIP, clientOptions{})
	status, _, err := post(ctx, client, s.base+loginPath, "", loginBody("ADM\u0130N\u0130STRATOR", adminPassword))
	if err != nil {
		return err
	}
	h.budget("ADM\u0130N\u0130STRATOR (U+0130), right password", fmt.Sprint(status), "401", status == http.StatusUnauthorized)
	access, _, err := login(ctx, client, s.base, "Administrator", adminPassword)
	if err != nil {
		h.budget("Administrator (another case), right password", err.Error(), "200", false)
		return nil
	}
	subject := tokenSubject(access)
	h.budget("  the token's subject", subject, domain+`\`+adminUser, subject == domain+`\`+adminUser)
	return nil
}

// tokenSubject is the sub claim of a JWT, "" when it has none.
func tokenSubject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Subject string `json:"sub"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	return claims.Subject
}
