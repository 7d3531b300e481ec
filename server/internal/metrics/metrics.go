// Package metrics holds the server's Prometheus metrics.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric of the server.
const Namespace = "refserver"

// Limits that refuse requests, the values of the label "limit".
const (
	LimitBodySize      = "body_size"          // 413
	LimitBodyBudget    = "body_budget"        // 503: bodies in flight
	LimitBodyTimeout   = "body_timeout"       // 408
	LimitLoginThrottle = "login_throttle"     // 429
	LimitFilter        = "filter"             // 400: filter size, depth or terms
	LimitConnections   = "connections"        // connection closed at the cap
	LimitUnauthorized  = "unauthenticated"    // 401 before the body is read
	LimitForbidden     = "forbidden"          // 403: not the operator, before the body is read
	LimitInFlight      = "requests_in_flight" // 503, or an HTTP/2 stream reset
	LimitFaultRules    = "fault_rules"        // 409: as many fault rules as allowed
)

// Results of a login, the values of the label "result".
const (
	LoginSucceeded = "succeeded"
	LoginFailed    = "failed"
	LoginThrottled = "throttled"
)

// Metrics are the server's collectors, registered in Registry together with
// Go's runtime and process collectors. Every method is safe for concurrent use.
type Metrics struct {
	Registry *prometheus.Registry

	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	bodyBytes prometheus.Gauge
	decoding  prometheus.Gauge
	recorded  prometheus.Counter
	logins    *prometheus.CounterVec
	refused   *prometheus.CounterVec
}

// Operation holds the metrics of one operation, resolved once: WithLabelValues
// hashes its labels on every call.
type Operation struct {
	m        *Metrics
	name     string
	latency  prometheus.Observer
	byStatus map[int]prometheus.Counter // read-only once made
}

// statuses are the status codes the server answers with, resolved ahead.
var statuses = []int{200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413, 429, 431, 500, 503}

// Operation returns the metrics of the operation name ("unknown" for a
// request outside the spec). Call it before serving; the result is safe for
// concurrent use.
func (m *Metrics) Operation(name string) *Operation {
	op := &Operation{m: m, name: name, latency: m.latency.WithLabelValues(name), byStatus: map[int]prometheus.Counter{}}
	for _, status := range statuses {
		op.byStatus[status] = m.requests.WithLabelValues(name, strconv.Itoa(status))
	}
	return op
}

// Done counts a request answered with status after elapsed.
func (op *Operation) Done(status int, elapsed time.Duration) {
	op.m.inFlight.Dec()
	if c, ok := op.byStatus[status]; ok {
		c.Inc()
	} else {
		op.m.requests.WithLabelValues(op.name, strconv.Itoa(status)).Inc()
	}
	op.latency.Observe(elapsed.Seconds())
}

// New makes the metrics in a registry of their own.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "requests_total",
			Help: "Requests answered, by the spec's operation id (\"unknown\" outside the spec) and status code.",
		}, []string{"operation", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "request_duration_seconds",
			Help:    "Time from the start of a request's handling to its answer, by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "requests_in_flight",
			Help: "Requests being handled.",
		}),
		bodyBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "body_bytes_in_flight",
			Help: "Bytes of request bodies being handled, as charged to the body budget.",
		}),
		decoding: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "decode_bytes_in_flight",
			Help: "What decoding request bodies on the generic validator's path costs at once, as charged to its budget.",
		}),
		recorded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "deliveries_recorded_total",
			Help: "Deliveries added to the record of delivered messages.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "logins_total",
			Help: "Login attempts, by result: succeeded, failed (401) or throttled (429).",
		}, []string{"result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "refused_total",
			Help: "Requests or connections refused by a limit, by limit.",
		}, []string{"limit"}),
	}
	m.Registry.MustRegister(
		m.requests, m.latency, m.inFlight, m.bodyBytes, m.decoding, m.recorded, m.logins, m.refused,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, result := range []string{LoginSucceeded, LoginFailed, LoginThrottled} {
		m.logins.WithLabelValues(result)
	}
	for _, limit := range []string{
		LimitBodySize, LimitBodyBudget, LimitBodyTimeout, LimitLoginThrottle, LimitFilter, LimitConnections, LimitUnauthorized,
		LimitForbidden, LimitInFlight, LimitFaultRules,
	} {
		m.refused.WithLabelValues(limit)
	}
	return m
}

// Start counts a request in flight; Done must follow.
func (m *Metrics) Start() { m.inFlight.Inc() }

// BodyBytes adds delta to the bytes of bodies in flight.
func (m *Metrics) BodyBytes(delta int64) { m.bodyBytes.Add(float64(delta)) }

// DecodeBytes adds delta to what decoding bodies costs at once.
func (m *Metrics) DecodeBytes(delta int64) { m.decoding.Add(float64(delta)) }

// Recorded counts n deliveries added to the record.
func (m *Metrics) Recorded(n int) { m.recorded.Add(float64(n)) }

// Login counts a login attempt by result.
func (m *Metrics) Login(result string) { m.logins.WithLabelValues(result).Inc() }

// Refused counts a refusal by limit.
func (m *Metrics) Refused(limit string) { m.refused.WithLabelValues(limit).Inc() }

// Evicted registers fn as the count of deliveries evicted from the record.
func (m *Metrics) Evicted(fn func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: Namespace, Name: "deliveries_evicted_total",
		Help: "Deliveries dropped from the record, oldest first, to stay within its caps.",
	}, fn))
}
