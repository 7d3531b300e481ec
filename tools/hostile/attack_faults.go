package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault rules: how many, how large, how long they delay.
const (
	manyIDRules    = 60 // as first measured, 20,000 ids each
	manyIDsFor     = 40 * time.Second
	capRuleTries   = maxFaultRules + 20
	faultReaders   = 3
	countRules     = 30000 // as first measured
	countRulesFor  = 20 * time.Second
	timedSends     = 200
	listings       = 200
	listingDelayMS = 2000
	listingSpread  = 50
	delayTimeout   = "2s" // -write-timeout of fault-delay-timeout
	delayPastMS    = 3000
)

// failRule is a fail_sessions rule for the given sessions.
func failRule(ids []string) []byte {
	return jsonBytes(map[string]any{"operation": "sendMessageToSessions", "action": "fail_sessions", "session_ids": ids})
}

// longIDs are n distinct ids of length characters, prefixed by tag.
func longIDs(tag string, n, length int) []string {
	ids := make([]string, n)
	for i := range ids {
		prefix := fmt.Sprintf("%s-%05d-", tag, i)
		ids[i] = prefix + strings.Repeat("x", max(0, length-len(prefix)))
	}
	return ids
}

// addRules adds rule(i) for i from 0 as the operator, until n are tried,
// the first 409, or limit; it returns the answers, how many were added and
// the time of the last addition.
func addRules(ctx context.Context, s *server, n int, limit time.Duration, rule func(int) []byte) (*tally, int, time.Duration) {
	client := operator()
	answers := &tally{}
	added := 0
	var last time.Duration
	end := time.Now().Add(limit)
	for i := 0; i < n && time.Now().Before(end); i++ {
		start := time.Now()
		status, _, err := post(ctx, client, s.base+faultsPath, operatorToken, rule(i))
		last = time.Since(start)
		answers.add(status, err)
		if status == http.StatusCreated {
			added++
		}
		if status == http.StatusConflict || (err != nil && status == 0) {
			break
		}
	}
	return answers, added, last
}

// faultRulesManyIDs: 60 rules of 20,000 long ids each (as long as the body
// limit allows), then the listing of them all.
func faultRulesManyIDs(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	status, _, _ := addRule(ctx, operator(), s, failRule([]string{"proof-id"}))
	h.proof("the same rule with one id is added", strconv.Itoa(status), "201", status == http.StatusCreated)
	idLength := (h.maxBody()-512)/manySessions - 3
	before := s.rss()
	answers, added, last := addRules(ctx, s, manyIDRules, manyIDsFor, func(i int) []byte {
		return failRule(longIDs(fmt.Sprintf("r%02d", i), manySessions, idLength))
	})
	h.info(fmt.Sprintf("%d rules x %d ids, each id as long as fits", manyIDRules, manySessions), fmt.Sprintf("%d characters: %s", idLength, answers))
	h.budget("of them added", strconv.Itoa(added), fmt.Sprintf("0 (> %d ids)", maxRuleIDs), added == 0)
	h.info("the last addition took", last.Round(time.Millisecond).String())
	h.readFaultsAtOnce(ctx, s, 1, added+1)
	h.memoryRows(s, before)
	return nil
}

// faultRulesAtCaps: rules of 1,000 ids of 256 characters (the design's
// caps) until 409, then three readers of GET /faults at once.
func faultRulesAtCaps(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.rss()
	answers, added, last := addRules(ctx, s, capRuleTries, time.Minute, func(i int) []byte {
		return failRule(longIDs(fmt.Sprintf("c%03d", i), maxRuleIDs, maxRuleIDLength))
	})
	h.proof("the first rule at the caps is added", answers.String(), ">= 1x201", added >= 1)
	h.budget(fmt.Sprintf("rules of %d ids x %d characters added, of %d tries", maxRuleIDs, maxRuleIDLength, capRuleTries),
		fmt.Sprintf("%d (%s)", added, answers), fmt.Sprintf("%d, then 409", maxFaultRules),
		added <= maxFaultRules && answers.count(http.StatusConflict) == 1)
	h.info("the last addition took", last.Round(time.Millisecond).String())
	h.readFaultsAtOnce(ctx, s, faultReaders, added)
	h.memoryRows(s, before)
	return nil
}

// timeSends is the median time of n send-message requests of one id.
func timeSends(ctx context.Context, client *http.Client, s *server, n int) (time.Duration, error) {
	body := sendBody("timed", []string{sessionID(7)})
	times := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		status, _, err := post(ctx, client, s.base+sendPath, operatorToken, body)
		if err != nil || status != http.StatusOK {
			return 0, fmt.Errorf("send-message: %d %w", status, err)
		}
		times = append(times, time.Since(start))
	}
	return median(times), nil
}

// faultRulesCount: as many rules as the server takes (up to the 30,000
// first measured), each matching every send-message and never firing; then how
// much slower a send-message is.
func faultRulesCount(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(operatorIP, clientOptions{conns: 1})
	without, err := timeSends(ctx, client, s, timedSends)
	if err != nil {
		return err
	}
	rule := jsonBytes(map[string]any{"operation": "sendMessageToSessions", "action": "delay", "delay_ms": 0, "probability": 0})
	answers, added, _ := addRules(ctx, s, countRules, countRulesFor, func(int) []byte { return rule })
	h.proof("the rule is added", answers.String(), ">= 1x201", added >= 1)
	h.budget("rules that never fire, added", fmt.Sprintf("%d (%s)", added, answers), fmt.Sprintf("<= %d", maxFaultRules), added <= maxFaultRules)
	with, err := timeSends(ctx, client, s, timedSends)
	if err != nil {
		return err
	}
	ratio := float64(with) / float64(without)
	h.info("send-message of 1 id, median of 200, without rules", without.Round(time.Microsecond).String())
	h.info("  with the rules added", with.Round(time.Microsecond).String())
	h.budget("  slower by", fmt.Sprintf("%.2fx", ratio), fmt.Sprintf("<= %.1fx", maxRuleSlowdown), ratio <= maxRuleSlowdown)
	return nil
}

// faultLongError: a fail_sessions rule whose error_message is as long as
// the body limit allows, then a send-message naming 10 of its sessions.
func faultLongError(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	op := operator()
	ids := sessionIDs(10)
	rule := func(message string) []byte {
		return jsonBytes(map[string]any{"operation": "sendMessageToSessions", "action": "fail_sessions", "session_ids": ids, "error_message": message})
	}
	status, _, _ := addRule(ctx, op, s, rule("The agent did not answer."))
	h.proof("the rule with a short error_message is added", strconv.Itoa(status), "201", status == http.StatusCreated)
	clearRules(ctx, op, s)
	before := s.rss()
	length := h.maxBody() - 1024
	status, _, _ = addRule(ctx, op, s, rule(strings.Repeat("e", length)))
	h.budget("a rule with an error_message at the body limit", fmt.Sprintf("%d characters: %d", length, status),
		fmt.Sprintf("400 (> %d)", maxErrorMessage), status == http.StatusBadRequest)
	start := time.Now()
	status, size, err := count(ctx, op, http.MethodPost, s.base+sendPath, operatorToken, sendBody("hello", ids))
	value := fmt.Sprintf("%d, %s in %s", status, mb(size), time.Since(start).Round(time.Millisecond))
	if err != nil {
		value += " (" + errKind(err) + ")"
	}
	h.budget("then a send-message to 10 of its sessions: answer", value, fmt.Sprintf("< %d KiB", maxFailAnswerBytes>>10), size < maxFailAnswerBytes)
	h.memoryRows(s, before)
	return nil
}

// faultDelayPastTimeout: delays longer than -write-timeout (2 s here) are
// refused when the rule is added, naming the timeout.
func faultDelayPastTimeout(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{args: []string{"-write-timeout", delayTimeout}})
	if err != nil {
		return err
	}
	defer s.stop()
	op := operator()
	delay := func(fields map[string]any) []byte {
		fields["operation"], fields["action"] = "sendMessageToSessions", "delay"
		return jsonBytes(fields)
	}
	status, _, _ := addRule(ctx, op, s, delay(map[string]any{"delay_ms": 500}))
	h.proof("a delay under the write timeout is added", strconv.Itoa(status), "201", status == http.StatusCreated)
	clearRules(ctx, op, s)
	accepted := false
	for _, c := range []struct {
		what   string
		fields map[string]any
	}{
		{fmt.Sprintf("delay_ms %d", delayPastMS), map[string]any{"delay_ms": delayPastMS}},
		{fmt.Sprintf("delay_ms 100, delay_max_ms %d", delayPastMS), map[string]any{"delay_ms": 100, "delay_max_ms": delayPastMS}},
	} {
		what, fields := "a rule of "+c.what+", -write-timeout "+delayTimeout, c.fields
		status, answer, _ := addRule(ctx, op, s, delay(fields))
		accepted = accepted || status == http.StatusCreated
		h.budget(what, strconv.Itoa(status), "400 naming it", status == http.StatusBadRequest && contains(answer, "write-timeout", "write timeout"))
	}
	if accepted {
		start := time.Now()
		status, _, err := post(ctx, op, s.base+sendPath, operatorToken, sendBody("delayed", sessionIDs(1)))
		h.info("then a send-message waited", fmt.Sprintf("%s (%d %s)", time.Since(start).Round(10*time.Millisecond), status, errKind(err)))
	}
	return nil
}

// delayedListings: a delay rule on listSessions, then 200 listings of the
// 20,000 sessions at once.
func delayedListings(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	status, _, _ := addRule(ctx, operator(), s, jsonBytes(map[string]any{"operation": "listSessions", "action": "delay", "delay_ms": listingDelayMS}))
	h.proof("the delay rule is added", strconv.Itoa(status), "201", status == http.StatusCreated)
	before := s.rss()
	answers := &tally{}
	var mu sync.Mutex
	var smallest, largest int64 = -1, 0
	r := underAttack(ctx, p, func(_ context.Context, ready func()) {
		var wg sync.WaitGroup
		for i := range listings {
			client := newClient(attackerIP(i/listingSpread), clientOptions{timeout: 30 * time.Second})
			wg.Go(func() {
				status, n, err := count(ctx, client, http.MethodGet, s.base+listPath, p.token, nil)
				answers.add(status, err)
				mu.Lock()
				defer mu.Unlock()
				largest = max(largest, n)
				if smallest < 0 || n < smallest {
					smallest = n
				}
			})
		}
		ready()
		wg.Wait()
	})
	h.memoryRows(s, before)
	h.info(fmt.Sprintf("%d listings delayed %d ms", listings, listingDelayMS), fmt.Sprintf("%s; %s to %s each", answers, mb(smallest), mb(largest)))
	h.proofListing(ctx, s, p.token)
	h.probeRows(r)
	return nil
}

// proofListing: one listing holds the 20,000 sessions.
func (h *harness) proofListing(ctx context.Context, s *server, token string) {
	status, raw, err := get(ctx, newClient(probeIP, clientOptions{}), s.base+listPath, token)
	var sessions []json.RawMessage
	if err == nil {
		err = json.Unmarshal(raw, &sessions)
	}
	h.proof("a listing holds every session", fmt.Sprintf("%d, %d sessions", status, len(sessions)), strconv.Itoa(manySessions),
		err == nil && len(sessions) == manySessions)
}

// addRule adds a fault rule as the operator and returns the status, the
// answer and the rule's id.
func addRule(ctx context.Context, client *http.Client, s *server, rule []byte) (int, string, string) {
	status, raw, err := post(ctx, client, s.base+faultsPath, operatorToken, rule)
	if err != nil {
		return status, err.Error(), ""
	}
	var added struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &added)
	return status, string(raw), added.ID
}

func clearRules(ctx context.Context, client *http.Client, s *server) {
	_, _, _ = do(ctx, client, http.MethodDelete, s.base+faultsPath, operatorToken, nil)
}

// pageOfFaults reads one page of GET /faults as a stream, holding one rule
// at a time: how many rules, the next_after ("" when none) and its bytes.
func pageOfFaults(ctx context.Context, client *http.Client, target string) (rules int, next string, size int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, "", 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", 0, fmt.Errorf("GET /faults: %w", err)
	}
	defer resp.Body.Close()
	counted := &countingReader{r: resp.Body}
	defer func() { _, _ = io.Copy(io.Discard, counted); size = counted.n }()
	if resp.StatusCode != http.StatusOK {
		return 0, "", 0, fmt.Errorf("GET /faults: %d", resp.StatusCode)
	}
	var page struct {
		Faults    []json.RawMessage `json:"faults"`
		NextAfter json.RawMessage   `json:"next_after"`
	}
	// One decode would hold the whole page; the members are read one by one.
	dec := json.NewDecoder(counted)
	if err := streamFaults(dec, &rules, &page.NextAfter); err != nil {
		return rules, "", 0, err
	}
	next = strings.Trim(string(page.NextAfter), `"`)
	if next == "null" {
		next = ""
	}
	return rules, next, 0, nil
}

// streamFaults reads {"faults":[...], "next_after": ...} from dec, one rule
// at a time.
func streamFaults(dec *json.Decoder, rules *int, next *json.RawMessage) error {
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("faults page: %w", err)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return fmt.Errorf("faults page: %w", err)
		}
		switch key {
		case "faults":
			if _, err := dec.Token(); err != nil {
				return fmt.Errorf("faults page: %w", err)
			}
			for dec.More() {
				var rule json.RawMessage
				if err := dec.Decode(&rule); err != nil {
					return fmt.Errorf("faults page: %w", err)
				}
				*rules++
			}
			_, _ = dec.Token()
		case "next_after":
			if err := dec.Decode(next); err != nil {
				return fmt.Errorf("faults page: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("faults page: %w", err)
			}
		}
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// listFaults reads every page of GET /faults: the rules, the pages and the
// largest page in bytes.
func listFaults(ctx context.Context, client *http.Client, s *server) (rules, pages int, largest int64, err error) {
	target := s.base + faultsPath
	for pages < 1000 {
		n, next, size, err := pageOfFaults(ctx, client, target)
		rules += n
		pages++
		largest = max(largest, size)
		if err != nil || next == "" {
			return rules, pages, largest, err
		}
		target = s.base + faultsPath + "?after=" + url.QueryEscape(next)
	}
	return rules, pages, largest, errors.New("GET /faults: more than 1000 pages")
}

// readFaultsAtOnce lists the rules with n readers at once and reports it.
func (h *harness) readFaultsAtOnce(ctx context.Context, s *server, n, want int) {
	client := newClient(operatorIP, clientOptions{conns: n})
	type result struct {
		rules, pages int
		largest      int64
		err          error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := &results[i]
			r.rules, r.pages, r.largest, r.err = listFaults(ctx, client, s)
		})
	}
	wg.Wait()
	r := results[0]
	value := fmt.Sprintf("%d rules in %d pages, largest %s", r.rules, r.pages, mb(r.largest))
	if r.err != nil {
		value += ": " + r.err.Error()
	}
	h.budget(fmt.Sprintf("GET /faults, %d readers at once, each listed", n), value, fmt.Sprintf("all %d", want), r.err == nil && r.rules == want)
}
