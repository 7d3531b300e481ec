package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// tally counts outcomes: answers by status, failures by kind.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) addKey(key string) { t.addN(key, 1) }

// addN counts n outcomes of one kind.
func (t *tally) addN(key string, n int) {
	if n == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[key] += n
}

// add counts an answer's status, or the failure when err is not nil.
func (t *tally) add(status int, err error) {
	switch {
	case err != nil && status == 0:
		t.addKey(errKind(err))
	case status == 0:
		t.addKey("no answer")
	default:
		t.addKey(strconv.Itoa(status))
	}
}

func (t *tally) count(status int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[strconv.Itoa(status)]
}

func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.n {
		n += v
	}
	return n
}

// any says whether some answer had one of the statuses.
func (t *tally) any(statuses ...int) bool {
	for _, s := range statuses {
		if t.count(s) > 0 {
			return true
		}
	}
	return false
}

// only says whether every outcome is one of the statuses or a failure
// without an answer (closed, held open...).
func (t *tally) only(statuses ...int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.n {
		status, err := strconv.Atoi(k)
		if err == nil && !slices.Contains(statuses, status) {
			return false
		}
	}
	return true
}

// String is "18x200 2x503 1xtimeout": statuses in order, then failures.
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.n))
	for k := range t.n {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ai, aErr := strconv.Atoi(a)
		bi, bErr := strconv.Atoi(b)
		switch {
		case aErr == nil && bErr == nil:
			return cmp.Compare(ai, bi)
		case aErr == nil:
			return -1
		case bErr == nil:
			return 1
		}
		return cmp.Compare(a, b)
	})
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%dx%s", t.n[k], k)
	}
	if s == "" {
		return "none"
	}
	return s
}

func mb(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/mib) }

// memoryRows are the resident memory before the attack and at its peak,
// held to the ceiling.
func (h *harness) memoryRows(s *server, before int64) {
	h.info("RSS before the attack", mb(before))
	peak := max(s.peak(), before) // the kernel's high-water mark lags by a page or so
	value := mb(peak)
	if s.killed.Load() {
		value = ">= " + value + " (stopped)"
	}
	h.budget("peak RSS", value, "< "+mb(rssCeiling), peak < rssCeiling && !s.killed.Load())
}

// Probe timing: one request every probeGap, each given probeTimeout.
const (
	probeGap     = 100 * time.Millisecond
	probeTimeout = 3 * time.Second
)

// prober is a client with a valid token (an ordinary user's login) that
// sends send-message requests while an attack runs.
type prober struct {
	client *http.Client
	base   string
	token  string
	body   []byte
}

// startProbed starts a server for the attack, as start does, and the
// prober of a client with a valid token (see newProber) against it.
func (h *harness) startProbed(ctx context.Context, o startOptions, keepAlive bool) (*server, *prober, error) {
	s, err := h.start(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	p, err := newProber(ctx, s, keepAlive)
	if err != nil {
		s.stop()
		return nil, nil, err
	}
	return s, p, nil
}

// newProber logs the probe's user in, before the attack. With keepAlive
// every request goes over one connection, opened now; else each opens its
// own, as new clients do.
func newProber(ctx context.Context, s *server, keepAlive bool) (*prober, error) {
	o := clientOptions{fresh: !keepAlive, timeout: probeTimeout}
	if keepAlive {
		o.conns = 1
	}
	client := newClient(probeIP, o)
	token, _, err := login(ctx, client, s.base, probeUser, probePassword)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	return &prober{client: client, base: s.base, token: token, body: sendBody("probe", sessionIDs(10))}, nil
}

type probeResult struct {
	ok      int
	answers *tally
	slowest time.Duration
}

// run sends probeRequests requests, one every probeGap whatever the
// answers, and waits for them all.
func (p *prober) run(ctx context.Context) probeResult {
	r := probeResult{answers: &tally{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(probeGap)
	defer tick.Stop()
	for i := range probeRequests {
		if i > 0 {
			<-tick.C
		}
		wg.Go(func() {
			start := time.Now()
			status, _, err := post(ctx, p.client, p.base+sendPath, p.token, p.body)
			took := time.Since(start)
			r.answers.add(status, err)
			mu.Lock()
			defer mu.Unlock()
			r.slowest = max(r.slowest, took)
			if status == http.StatusOK {
				r.ok++
			}
		})
	}
	wg.Wait()
	return r
}

func (h *harness) probeRows(r probeResult) {
	h.budget("valid-token send-message meanwhile: 200s",
		fmt.Sprintf("%d of %d (%s)", r.ok, probeRequests, r.answers),
		fmt.Sprintf(">= %d of %d", probeMinOK, probeRequests), r.ok >= probeMinOK)
	h.info("  its slowest answer", r.slowest.Round(time.Millisecond).String())
}

// rampLimit bounds how long an attack may take to put its pressure on.
const rampLimit = 20 * time.Second

// underAttack runs attack in the background and, once it calls ready (or
// ends, or rampLimit passes), the probe; then it cancels the attack's
// context and waits for it.
func underAttack(ctx context.Context, p *prober, attack func(ctx context.Context, ready func())) probeResult {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		attack(actx, func() { once.Do(func() { close(ready) }) })
	}()
	timer := time.NewTimer(rampLimit)
	defer timer.Stop()
	select {
	case <-ready:
	case <-done:
	case <-timer.C:
	}
	r := p.run(ctx)
	cancel()
	<-done
	return r
}

// median of ds, which it sorts.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}
