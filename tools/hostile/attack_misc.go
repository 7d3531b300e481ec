package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Odd requests: long request ids, long paths, large filters; and a scrape
// of the metrics listener.
const (
	longIDRequests   = 40
	longIDBytes      = 1000000 // fitted to the header limit
	longPathRequests = 20      // as first measured, 1 MB paths
	longPathBytes    = 1000000
	fittedRequests   = 200 // paths and queries that fit the header limit
	fittedPathBytes  = 4096
	largeFilterTerms = 11000
	mostFilterTerms  = 511
	filterRepeats    = 10
	logFlushWait     = 300 * time.Millisecond
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
	h.proof(fmt.Sprintf("%d requests, id as long as fits (<= 1 MB)", longIDRequests), fmt.Sprintf("%d bytes: %s", len(id), answers), "all 200",
		answers.count(http.StatusOK) == longIDRequests)
	h.budget("log bytes for them", mb(grown), fmt.Sprintf("< %d KiB", longIDRequests*logBytesPerRequest>>10), grown < longIDRequests*logBytesPerRequest)
	h.budget("answers echoing the long id", strconv.Itoa(echoed), "0", echoed == 0)
	return nil
}

// longPaths: requests with 1 MB paths, then requests with paths and
// queries that fit the header limit: the log grows by a line's worth each.
func longPaths(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	time.Sleep(logFlushWait)
	start := s.logBytes()
	huge := &tally{}
	var wg sync.WaitGroup
	for i := range longPathRequests {
		path := fmt.Sprintf("/rest/inventory/v1/sessions/%02d%s", i, strings.Repeat("p", longPathBytes))
		head := "GET " + path + " HTTP/1.1\r\nHost: " + s.addr + "\r\nConnection: close\r\n\r\n"
		wg.Go(func() { huge.add(rawRequest(ctx, attackerIP(0), s.addr, head, strings.NewReader("")), nil) })
	}
	wg.Wait()
	time.Sleep(logFlushWait)
	middle := s.logBytes()
	fitted := &tally{}
	client := newClient(attackerIP(0), clientOptions{conns: 1})
	query := strings.Repeat("q", max(0, min(h.maxHeader()-2048, 12<<10)-fittedPathBytes))
	for i := range fittedRequests {
		target := fmt.Sprintf("%s/rest/inventory/v1/sessions/%03d%s?x=%s", s.base, i, strings.Repeat("p", fittedPathBytes), query)
		status, _, err := get(ctx, client, target, "")
		fitted.add(status, err)
	}
	s.stop()
	end := s.logBytes()
	h.info(fmt.Sprintf("%d requests with %d-byte paths", longPathRequests, longPathBytes), huge.String())
	h.budget("  log growth", mb(middle-start), fmt.Sprintf("< %d KiB", longPathRequests*logBytesPerRequest>>10),
		middle-start < longPathRequests*logBytesPerRequest)
	h.proof(fmt.Sprintf("%d requests, path and query that fit", fittedRequests), fmt.Sprintf("%d+%d bytes: %s", fittedPathBytes, len(query), fitted),
		"no 431", fitted.total() == fittedRequests && !fitted.any(http.StatusRequestHeaderFieldsTooLarge))
	perRequest := (end - middle) / fittedRequests
	h.budget("  log growth per request", fmt.Sprintf("%d bytes", perRequest), fmt.Sprintf("< %d bytes", logBytesPerRequest), perRequest < logBytesPerRequest)
	return nil
}

// filterShape is a filter of many terms: combine (Or, And) of terms of kind
// on field.
type filterShape struct {
	combine, kind, field string
}

// filterQuery is a listing query with terms filters of shape, fitted to at
// most limit bytes (0: no fitting).
func filterQuery(shape filterShape, terms, limit int) (string, int) {
	for ; terms > 0; terms = terms * 9 / 10 {
		filters := make([]map[string]string, terms)
		for i := range filters {
			value := sessionID(i * 2)
			if shape.field == "session_state" {
				value = "PENDING" // the shortest state: the most terms fit
			}
			filters[i] = map[string]string{"type": shape.kind, "name": shape.field, "value": value}
		}
		raw := jsonBytes(map[string]any{"type": shape.combine, "filters": filters})
		query := listPath + "?filter=" + url.QueryEscape(string(raw))
		if limit == 0 || len(query) <= limit {
			return query, terms
		}
	}
	return listPath, 0
}

// largeFilter: a listing through an Or of 11,000 Equals, then through the
// largest filters the server allows (fitted to its header limit). An Or of
// Equals on ids is a lookup per session; an And of NotEquals (the other
// filter type a field takes) that each session passes is a comparison per
// term and session, the most a filter costs.
func largeFilter(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	client := newClient(attackerIP(0), clientOptions{conns: 1})
	or := filterShape{"Or", "Equals", "id"}
	for _, v := range []struct {
		shape filterShape
		terms int
		fit   bool
		want  []int
	}{
		{or, largeFilterTerms, false, []int{http.StatusBadRequest, http.StatusRequestHeaderFieldsTooLarge}},
		{or, mostFilterTerms, true, []int{http.StatusOK}},
		{filterShape{"And", "NotEquals", "session_state"}, mostFilterTerms, true, []int{http.StatusOK}},
	} {
		limit := 0
		if v.fit {
			limit = h.maxHeader() - 1024
		}
		query, terms := filterQuery(v.shape, v.terms, limit)
		// The same request 10 times: CPU time is counted in 10 ms ticks.
		before := s.cpu()
		answers := &tally{}
		for range filterRepeats {
			status, _, err := get(ctx, client, s.base+query, operatorToken)
			answers.add(status, err)
		}
		cpu := (s.cpu() - before) / filterRepeats
		what := fmt.Sprintf("%s of %d %s over %d sessions", v.shape.combine, v.terms, v.shape.kind, manySessions)
		if v.fit {
			what = fmt.Sprintf("%s of the most %s allowed that fit", v.shape.combine, v.shape.kind)
		}
		ok := false
		for _, w := range v.want {
			ok = ok || answers.count(w) == filterRepeats
		}
		h.budget(what, fmt.Sprintf("%d terms: %s", terms, answers), fmt.Sprint(v.want), ok)
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
