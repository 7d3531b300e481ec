package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestCompareAnswers(t *testing.T) {
	t.Parallel()
	base := func() answer {
		return answer{
			status: 200,
			header: http.Header{
				"Content-Type":           {"application/json"},
				"Content-Length":         {"92"},
				"Cache-Control":          {"no-store"},
				"X-Content-Type-Options": {"nosniff"},
				"X-Request-Id":           {"AAAA-1"},
				"Date":                   {"Fri, 27 Nov 2026 12:02:37 GMT"},
			},
			body: []byte(`[{"id":"a","status_code":200,"timestamp":1795780957453}]` + "\n"),
		}
	}
	other := base()
	other.header = other.header.Clone()
	other.header["X-Request-Id"] = []string{"BBBB-7"}
	other.header["Date"] = []string{"Fri, 27 Nov 2026 12:02:38 GMT"}
	other.body = []byte(`[{"id":"a","status_code":200,"timestamp":1795780958000}]` + "\n")
	if err := compareAnswers(base(), other); err != nil {
		t.Fatalf("answers differing only in request id, Date and timestamps: %v", err)
	}

	for name, change := range map[string]func(*answer){
		"status":              func(a *answer) { a.status = 201 },
		"header missing":      func(a *answer) { a.header.Del("Cache-Control") },
		"header value":        func(a *answer) { a.header.Set("Content-Type", "application/json; charset=UTF-8") },
		"extra header":        func(a *answer) { a.header.Set("Vary", "Origin") },
		"no request id":       func(a *answer) { a.header.Del("X-Request-Id") },
		"body":                func(a *answer) { a.body = []byte(`[{"id":"a","status_code":404,"timestamp":1}]` + "\n") },
		"spacing":             func(a *answer) { a.body = []byte(`[{"id":"a", "status_code":200,"timestamp":1}]` + "\n") },
		"item, no timestamp":  func(a *answer) { a.body = []byte(`[{"id":"a","status_code":200}]` + "\n") },
		"no trailing newline": func(a *answer) { a.body = []byte(strings.TrimSuffix(string(a.body), "\n")) },
	} {
		b := base()
		b.header = b.header.Clone()
		change(&b)
		if err := compareAnswers(base(), b); err == nil {
			t.Errorf("%s: different answers compared equal", name)
		}
	}
}

// The bare baseline sets none of the reference server's headers: only the
// status and the items count.
func TestCompareBodies(t *testing.T) {
	t.Parallel()
	ref := answer{
		status: 200,
		header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"AAAA-1"}, "Cache-Control": {"no-store"}},
		body:   []byte(`[{"id":"a","status_code":200,"timestamp":1795780957453},{"id":"b","status_code":404,"timestamp":1795780957453}]` + "\n"),
	}
	bare := answer{
		status: 200,
		header: http.Header{"Content-Type": {"application/json"}},
		body:   []byte(`[{"id":"a","status_code":200,"timestamp":1795780958000},{"id":"b","status_code":404,"timestamp":1795780958000}]` + "\n"),
	}
	if err := compareBodies(ref, bare); err != nil {
		t.Fatalf("the same items without the reference server's headers: %v", err)
	}
	if err := compareAnswers(ref, bare); err == nil {
		t.Error("compareAnswers let answers with other headers through")
	}
	for name, change := range map[string]func(*answer){
		"status": func(a *answer) { a.status = 400 },
		"item status": func(a *answer) {
			a.body = []byte(`[{"id":"a","status_code":200,"timestamp":1},{"id":"b","status_code":200,"timestamp":1}]` + "\n")
		},
		"item missing": func(a *answer) { a.body = []byte(`[{"id":"a","status_code":200,"timestamp":1}]` + "\n") },
		"no timestamp": func(a *answer) { a.body = []byte(`[{"id":"a","status_code":200},{"id":"b","status_code":404}]` + "\n") },
		"other id": func(a *answer) {
			a.body = []byte(`[{"id":"c","status_code":200,"timestamp":1},{"id":"b","status_code":404,"timestamp":1}]` + "\n")
		},
	} {
		b := bare
		change(&b)
		if err := compareBodies(ref, b); err == nil {
			t.Errorf("%s: different answers compared equal", name)
		}
	}
}
