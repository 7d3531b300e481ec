package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

// largeRequests sends single requests of many ids, one at a time, to fresh
// servers, and prints the time per id and the peak memory the requests added
// (VmHWM after them less VmRSS before them) against the body size.
func largeRequests(ctx context.Context, c config, dir string, pin *cpuPin, stdout io.Writer) error {
	most := slices.Max(c.large)
	dataFile, err := writeData(dir, most)
	if err != nil {
		return err
	}
	const repeats = 3
	fmt.Fprintf(stdout, "\n### Single large requests: one at a time, time the median of %d, peak RSS added by the first (VmHWM after it less VmRSS before), fresh server per size\n\n", repeats)
	fmt.Fprintln(stdout, "| ids | server | body | time | per id | RSS before | peak RSS added | added / body |")
	fmt.Fprintln(stdout, "|---:|---|---:|---:|---:|---:|---:|---:|")
	limits := []string{"-max-session-ids", strconv.Itoa(most), "-max-body-bytes", strconv.Itoa(64*most + 4096)}
	for _, n := range c.large {
		_, body, err := writeBody(dir, n)
		if err != nil {
			return err
		}
		for _, k := range servers(config{refserver: c.refserver, baseline: c.baseline}, dir, pin, limits...) {
			if err := largeRequest(ctx, k, dataFile, body, n, repeats, stdout); err != nil {
				return fmt.Errorf("%d ids, %s: %w", n, k.name, err)
			}
		}
	}
	return nil
}

func largeRequest(ctx context.Context, k server, dataFile string, body []byte, n, repeats int, stdout io.Writer) error {
	port, err := freePort(ctx)
	if err != nil {
		return err
	}
	p, err := k.start(ctx, port, dataFile)
	if err != nil {
		return err
	}
	defer p.stop(10 * time.Second)
	if err := p.waitReady(ctx, k.path, token, []byte(`{"message":"ready?","message_type":"INFO","session_ids":["`+sessionID(0)+`"]}`), 2*time.Minute); err != nil {
		return err
	}
	// Start-up (reading and validating the data file) set a high-water mark
	// of its own: reset it, so that VmHWM is the request's.
	if err := p.resetPeakRSS(); err != nil {
		return err
	}
	before, err := p.rss()
	if err != nil {
		return err
	}
	times := make([]time.Duration, 0, repeats)
	var peak int64
	for i := range repeats {
		if k.name == "refserver" {
			if err := clearMessages(ctx, p.url, token); err != nil {
				return err
			}
		}
		began := time.Now()
		status, answer, err := post(ctx, p.url+k.path, token, body)
		elapsed := time.Since(began)
		if err != nil {
			return err
		}
		if status != 200 {
			return fmt.Errorf("status %d: %.300s", status, answer)
		}
		times = append(times, elapsed)
		if i == 0 {
			// The first request's peak alone: later ones would add the
			// garbage of earlier ones not yet collected.
			if peak, err = p.peakRSS(); err != nil {
				return err
			}
		}
	}
	t := median(times)
	added := peak - before
	fmt.Fprintf(stdout, "| %d | %s | %s | %s | %.0f ns | %s | %s | %.1fx |\n", n, k.name, mib(int64(len(body))), ms2(t),
		float64(t)/float64(n), mib(before), mib(added), float64(added)/float64(len(body)))
	return nil
}
