package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	t.Parallel()
	out := `Running 1s test @ http://127.0.0.1:18089/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   568.40us  261.16us   3.34ms   80.70%
    Req/Sec     3.30k   316.34     3.65k    63.64%
  Latency Distribution
     50%  526.00us
     75%  666.00us
     90%  842.00us
     99%    1.44ms
  3600 requests in 1.10s, 1.91MB read
  Socket errors: connect 0, read 0, write 0, timeout 2
  Non-2xx or 3xx responses: 12
Requests/sec:   3274.10
Transfer/sec:      1.73MB
`
	got, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := result{reqPerSec: 3274.10, p50: 526 * time.Microsecond, p99: 1440 * time.Microsecond,
		requests: 3600, non2xx: 12, errors: "connect 0, read 0, write 0, timeout 2"}
	if got != want {
		t.Errorf("parseWrk = %+v, want %+v", got, want)
	}
	if _, err := parseWrk("Running 1s test\nunable to connect"); err == nil {
		t.Error("parseWrk accepted a report without numbers")
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median of 3 = %v", got)
	}
	if got := median([]time.Duration{4, 1, 3, 2}); got != 2 {
		t.Errorf("median of 4 = %v", got)
	}
}
