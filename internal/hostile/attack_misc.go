package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Odd requests: long request ids, long paths, large filters; and a scrape
// of the metrics listener.
const (
	longIDRequests   = 40
	longIDBytes      = 1000000 // fitted to the header limit
	largeFilterTerms = 11000
	mostFilterTerms  = 511
	filterRepeats    = 10
)

// longRequestIDs: requests with a 1 MB X-Request-Id: not logged, not
// echoed.
func longRequestIDs(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(attackerIP(0), clientOptions{})
	id := strings.Repeat("i", min(longIDBytes, h.maxHeader()-2048)) // within the header limit: the id is what is tried
	before := s.logBytes()
	echoed := 0
	answers := &tally{}
	for range longIDRequests {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+healthPath, nil)
		if err != nil {
			return fmt.Errorf("request: %w", err)
		}
		req.Header.Set("X-Request-Id", id)
		resp, err := client.Do(req)
		if err != nil {
			answers.add(0, err)
			continue
		}
		answers.add(resp.StatusCode, nil)
		if len(resp.Header.Get("X-Request-Id")) > 64 {
			echoed++
		}
		resp.Body.Close()
	}
	s.stop() // the log is written in full at shutdown
	grown := s.logBytes() - before
	h.proof(fmt.Sprintf("answers to %d requests with a %d-byte id", longIDRequests, len(id)), answers.String(), "all 200",
		answers.count(http.StatusOK) == longIDRequests)
	h.budget("log bytes for them", mb(grown), fmt.Sprintf("< %d KiB", longIDRequests*logBytesPerRequest>>10), grown < longIDRequests*logBytesPerRequest)
	h.budget("answers echoing the long id", strconv.Itoa(echoed), "0", echoed == 0)
	return nil
}

// filterQuery is a listing query with an Or of terms filters of kind,
// fitted to at most limit bytes (0: no fitting).
func filterQuery(kind string, terms, limit int) (string, int) {
	for ; terms > 0; terms = terms * 9 / 10 {
		filters := make([]map[string]string, terms)
		for i := range filters {
			filters[i] = map[string]string{"type": kind, "name": "id", "value": sessionID(i * 2)}
		}
		raw := jsonBytes(map[string]any{"type": "Or", "filters": filters})
		query := listPath + "?filter=" + url.QueryEscape(string(raw))
		if limit == 0 || len(query) <= limit {
			return query, terms
		}
	}
	return listPath, 0
}

// largeFilter: a listing through an Or of 11,000 Equals, then through the
// largest filters the server allows (fitted to its header limit).
func largeFilter(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(attackerIP(0), clientOptions{conns: 1})
	for _, v := range []struct {
		kind  string
		terms int
		fit   bool
		want  []int
	}{
		{"Equals", largeFilterTerms, false, []int{http.StatusBadRequest, http.StatusRequestHeaderFieldsTooLarge}},
		{"Equals", mostFilterTerms, true, []int{http.StatusOK}},
		{"StartsWith", mostFilterTerms, true, []int{http.StatusOK}},
	} {
		limit := 0
		if v.fit {
			limit = h.maxHeader() - 1024
		}
		query, terms := filterQuery(v.kind, v.terms, limit)
		// The same request 10 times: CPU time is counted in 10 ms ticks.
		before := s.cpu()
		answers := &tally{}
		for range filterRepeats {
			status, _, err := get(ctx, client, s.base+query, operatorToken)
			answers.add(status, err)
		}
		cpu := (s.cpu() - before) / filterRepeats
		what := fmt.Sprintf("Or of %d %s over %d sessions", terms, v.kind, manySessions)
		ok := false
		for _, w := range v.want {
			ok = ok || answers.count(w) == filterRepeats
		}
		h.budget(what, answers.String(), fmt.Sprint(v.want), ok)
		h.info("  server CPU per request", cpu.String())
	}
	return nil
}

// scrapeMetrics: the metrics listener answers a scrape with the server's
// metric families.
func scrapeMetrics(ctx context.Context, h *harness) error {
	if _, ok := h.flags["metrics-addr"]; !ok {
		h.unsupported("-metrics-addr", "not a flag of this server")
		return nil
	}
	port, err := freePort(ctx)
	if err != nil {
		return err
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(port)
	s, err := h.start(ctx, startOptions{args: []string{"-metrics-addr", metricsAddr}})
	if err != nil {
		return err
	}
	defer s.stop()
	client := operator()
	if _, _, err := get(ctx, client, s.base+listPath+"?page=1&size=1", operatorToken); err != nil {
		return err
	}
	status, text, err := get(ctx, client, "http://"+metricsAddr+"/metrics", "")
	if err != nil {
		return err
	}
	families := 0
	for line := range strings.Lines(string(text)) {
		if strings.HasPrefix(line, "# TYPE ") {
			families++
		}
	}
	h.budget("metric families in one scrape", fmt.Sprintf("%d (%d)", families, status), "> 10", status == http.StatusOK && families > 10)
	return nil
}
