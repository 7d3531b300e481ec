package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// countingBody is a request body that counts the bytes read from it.
type countingBody struct {
	io.Reader
	read atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func (*countingBody) Close() error { return nil }

// serveDirect serves req on srv in process and holds the answer against the
// spec.
func serveDirect(t *testing.T, srv http.Handler, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	checkResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// A protected operation checks the token before it reads any byte of the
// body: a wrong or missing token gets 401 with the body unread, and the
// connection is to be closed. So does a body of an operation that the spec
// gives none, even with the right token: nothing reads it.
func TestTokenBeforeBody(t *testing.T) {
	t.Parallel()
	for _, fast := range []bool{true, false} {
		cfg := server.Config{Token: testToken, Store: server.NewMemoryStore(testSessions())}
		if !fast {
			cfg = server.WithoutFastPath(cfg)
		}
		srv, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, method, path, authorization string
			wantStatus                        int
			wantRead                          bool
		}{
			{"send, wrong token", http.MethodPost, sendPath, "Bearer wrong", http.StatusUnauthorized, false},
			{"send, no token", http.MethodPost, sendPath, "", http.StatusUnauthorized, false},
			{"send, malformed header", http.MethodPost, sendPath, "Basic abc", http.StatusUnauthorized, false},
			{"list, wrong token", http.MethodGet, messagesPath, "Bearer wrong", http.StatusUnauthorized, false},
			{"list, right token: no body in the spec", http.MethodGet, messagesPath, "Bearer " + testToken, http.StatusOK, false},
			{"send, right token", http.MethodPost, sendPath, "Bearer " + testToken, http.StatusOK, true},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("fast path %v, %s", fast, tt.name), func(t *testing.T) {
				t.Parallel()
				text := sendBody(t, "m", "INFO", idConnected)
				body := &countingBody{Reader: strings.NewReader(text)}
				req := httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, body)
				req.ContentLength = int64(len(text))
				req.Header.Set("Content-Type", "application/json")
				if tt.authorization != "" {
					req.Header.Set("Authorization", tt.authorization)
				}
				resp := serveDirect(t, srv, req)
				if resp.status != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", resp.status, tt.wantStatus, resp.body)
				}
				if read := body.read.Load(); (read > 0) != tt.wantRead {
					t.Errorf("%d bytes of the body read; want read: %v", read, tt.wantRead)
				}
				if tt.wantStatus == http.StatusUnauthorized && resp.header.Get("Connection") != "close" {
					t.Errorf("Connection = %q, want close: the unread body cannot be told from a next request", resp.header.Get("Connection"))
				}
			})
		}
	}
}

// Login, refresh and logout take a few KiB at most: larger gets 413, at once
// when the length is declared, else once that much is read.
func TestAuthBodyLimit(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	large := `{"username":"` + repeat("u", 5000) + `","domain":"D","password":"p"}`
	for _, path := range []string{loginPath, refreshPath, logoutPath} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			resp := srv.do(t, srv.request(t, http.MethodPost, path, "", large))
			wantError(t, resp, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", server.DefaultMaxAuthBodyBytes))
			// Chunked: no declared length.
			req := srv.request(t, http.MethodPost, path, "", "")
			req.Body = io.NopCloser(strings.NewReader(large))
			req.Header.Set("Content-Type", "application/json")
			resp = srv.do(t, req)
			wantError(t, resp, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", server.DefaultMaxAuthBodyBytes))
		})
	}
}

// bodyBytesInFlight reads the gauge of the bytes charged to srv's budget of
// bodies in flight.
func bodyBytesInFlight(t *testing.T, srv *server.Server) float64 {
	t.Helper()
	return gauge(t, srv, "refserver_body_bytes_in_flight")
}

// waitFor polls cond until it holds; it fails t after failAfter.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not standing in for it
	}
}

// Bodies in flight share a budget: a request that finds no room waits
// briefly, then gets 503 with Retry-After, its body unread; once room frees,
// requests are served again.
func TestBodyBudget(t *testing.T) {
	t.Parallel()
	srv, err := server.New(server.Config{Token: testToken, Store: server.NewMemoryStore(testSessions()),
		Limits: server.Limits{MaxBodyBytesInFlight: 4000}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	held := padded(sendBody(t, "held", "INFO", idConnected), 900)

	// One request holds 900 bytes of the budget while its body trickles.
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+sendPath, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(held))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan response, 1)
	go func() {
		resp, err := ts.Client().Do(req)
		if err != nil {
			answered <- response{}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answered <- response{status: resp.StatusCode, header: resp.Header, body: body}
	}()
	if _, err := io.WriteString(pw, held[:10]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held body to be charged", func() bool { return bodyBytesInFlight(t, srv) == 900 })

	// Another of 200 bytes finds no room.
	tsrv := &testServer{Server: ts}
	resp := tsrv.do(t, tsrv.request(t, http.MethodPost, sendPath, "Bearer "+testToken, padded(sendBody(t, "m", "INFO", idConnected), 200)))
	wantError(t, resp, http.StatusServiceUnavailable, "retry in a second")
	if resp.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", resp.header.Get("Retry-After"))
	}

	if _, err := io.WriteString(pw, held[10:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if a := <-answered; a.status != http.StatusOK {
		t.Fatalf("the held request: status %d %s", a.status, a.body)
	}
	// The budget is given back once the handler returns, just after the
	// answer is out.
	waitFor(t, "the budget to be given back", func() bool { return bodyBytesInFlight(t, srv) == 0 })
	if resp := tsrv.send(t, padded(sendBody(t, "m", "INFO", idConnected), 200)); resp.status != http.StatusOK {
		t.Errorf("once room frees: status %d %s", resp.status, resp.body)
	}
	// A body as large as the whole budget, declared or chunked, is read to
	// its end within it.
	whole := padded(sendBody(t, "m", "INFO", idConnected), 1000)
	if resp := tsrv.send(t, whole); resp.status != http.StatusOK {
		t.Errorf("a declared body as large as the budget: status %d %s", resp.status, resp.body)
	}
	req = tsrv.request(t, http.MethodPost, sendPath, "Bearer "+testToken, "")
	req.Body = io.NopCloser(strings.NewReader(whole))
	req.Header.Set("Content-Type", "application/json")
	if resp := tsrv.do(t, req); resp.status != http.StatusOK {
		t.Errorf("a chunked body as large as the budget: status %d %s", resp.status, resp.body)
	}
	// Larger than the whole budget: it is charged the whole budget, and
	// gives all of it back.
	req = tsrv.request(t, http.MethodPost, sendPath, "Bearer "+testToken, "")
	req.Body = io.NopCloser(strings.NewReader(padded(whole, 1500)))
	req.Header.Set("Content-Type", "application/json")
	if resp := tsrv.do(t, req); resp.status != http.StatusOK {
		t.Errorf("a chunked body larger than the budget: status %d %s", resp.status, resp.body)
	}
	waitFor(t, "the budget to be given back", func() bool { return bodyBytesInFlight(t, srv) == 0 })
}

// padded is a JSON body padded with blanks to n bytes.
func padded(body string, n int) string { return body + repeat(" ", n-len(body)) }

// A logout while a body uploads ends the request: the token is checked
// again when the body's last byte arrives.
func TestLogoutEndsUpload(t *testing.T) {
	t.Parallel()
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast path %v", fast), func(t *testing.T) {
			t.Parallel()
			cfg := server.Config{Token: testToken, Users: []model.ReferenceUser{{Username: testUser, Domain: testDomain, Password: testPassword}},
				Store: server.NewMemoryStore(testSessions())}
			if !fast {
				cfg = server.WithoutFastPath(cfg)
			}
			srv, err := server.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			tsrv := &testServer{Server: ts}
			login := tsrv.do(t, tsrv.request(t, http.MethodPost, loginPath, "", fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, testUser, testDomain, testPassword)))
			tokens := decodeStrict[model.AuthTokens](t, login.body)

			body := sendBody(t, "after logout", "INFO", idConnected)
			pr, pw := io.Pipe()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+sendPath, pr)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(body))
			req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
			req.Header.Set("Content-Type", "application/json")
			answered := make(chan response, 1)
			go func() {
				resp, err := ts.Client().Do(req)
				if err != nil {
					answered <- response{}
					return
				}
				defer resp.Body.Close()
				got, _ := io.ReadAll(resp.Body)
				checkResponse(t, req, resp.StatusCode, resp.Header, got)
				answered <- response{status: resp.StatusCode, header: resp.Header, body: got}
			}()
			if _, err := io.WriteString(pw, body[:10]); err != nil {
				t.Fatal(err)
			}
			// Past the token check: the body is charged once it is.
			waitFor(t, "the upload to pass the token check", func() bool { return bodyBytesInFlight(t, srv) > 0 })
			if resp := tsrv.do(t, tsrv.request(t, http.MethodPost, logoutPath, "", fmt.Sprintf(`{"refresh_token":%q}`, tokens.RefreshToken))); resp.status != http.StatusOK {
				t.Fatalf("logout: %d %s", resp.status, resp.body)
			}
			if _, err := io.WriteString(pw, body[10:]); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			wantError(t, <-answered, http.StatusUnauthorized, "login has ended")
		})
	}
}

// Failed logins are throttled per account and per address; a correct login
// of another account is not, and the throttle can be turned off.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	users := []model.ReferenceUser{{Username: testUser, Domain: testDomain, Password: testPassword}, {Username: "other", Domain: testDomain, Password: "other-pw"}}
	srv := newTestServer(t, server.Config{Users: users, Now: clock.Now,
		LoginThrottle: server.LoginThrottle{PerUser: 2, PerAddress: 100, Window: time.Minute}})
	login := func(user, password string) response {
		return srv.do(t, srv.request(t, http.MethodPost, loginPath, "", fmt.Sprintf(`{"username":%q,"domain":%q,"password":%q}`, user, testDomain, password)))
	}
	for range 2 {
		wantError(t, login(testUser, "wrong"), http.StatusUnauthorized, "invalid user name")
	}
	resp := login(testUser, "wrong")
	wantError(t, resp, http.StatusTooManyRequests, "too many failed logins")
	if resp.header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After = %q, want 30 (a try every 30 s)", resp.header.Get("Retry-After"))
	}
	// The account's correct password waits too: its credentials are not
	// looked at until then.
	wantError(t, login(testUser, testPassword), http.StatusTooManyRequests, "too many failed logins")
	if resp := login("other", "other-pw"); resp.status != http.StatusOK {
		t.Errorf("another account: status %d %s", resp.status, resp.body)
	}
	clock.Advance(30 * time.Second)
	if resp := login(testUser, testPassword); resp.status != http.StatusOK {
		t.Errorf("after Retry-After: status %d %s", resp.status, resp.body)
	}

	off := newTestServer(t, server.Config{Users: users, LoginThrottle: server.LoginThrottle{Off: true}})
	for range 30 {
		resp := off.do(t, off.request(t, http.MethodPost, loginPath, "", fmt.Sprintf(`{"username":%q,"domain":%q,"password":"wrong"}`, testUser, testDomain)))
		wantError(t, resp, http.StatusUnauthorized, "invalid user name")
	}
}

// Failed logins from one address are throttled whatever the account.
func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{LoginThrottle: server.LoginThrottle{PerUser: 100, PerAddress: 3, Window: time.Minute}})
	for i := range 4 {
		resp := srv.do(t, srv.request(t, http.MethodPost, loginPath, "", fmt.Sprintf(`{"username":"guess%d","domain":"D","password":"p"}`, i)))
		want := http.StatusUnauthorized
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if resp.status != want {
			t.Errorf("login %d: status %d, want %d", i+1, resp.status, want)
		}
	}
}

// X-Request-Id is taken from the request only when short and plain.
func TestRequestIDMustBePlain(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	for _, tt := range []struct {
		id   string
		kept bool
	}{
		{"abc-123_X.y", true},
		{repeat("a", 64), true},
		{repeat("a", 65), false},
		{"has space", false},
		{"semi;colon", false},
		{"ünïcode", false},
	} {
		req := srv.request(t, http.MethodGet, healthPath, "", "")
		req.Header.Set("X-Request-Id", tt.id)
		resp := srv.do(t, req)
		got := resp.header.Get("X-Request-Id")
		if (got == tt.id) != tt.kept || got == "" || len(got) > 64 {
			t.Errorf("X-Request-Id %q answered with %q; want it kept: %v", tt.id, got, tt.kept)
		}
	}
}

// Query parameters must be UTF-8; a bearer token is trimmed of spaces and
// tabs only.
func TestQueryUTF8AndBearerBlanks(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	for _, target := range []string{sessionsPath + "?filter=%FF", messagesPath + "?session_id=caf%E9"} {
		resp := srv.do(t, srv.request(t, http.MethodGet, target, "Bearer "+testToken, ""))
		wantError(t, resp, http.StatusBadRequest, "not valid UTF-8 at byte")
	}
	for _, tt := range []struct {
		header string
		want   int
	}{
		{"Bearer " + testToken + " \t", http.StatusOK},
		{"Bearer \t" + testToken, http.StatusOK},
		{"Bearer " + testToken + "\u00a0", http.StatusUnauthorized},
		{"Bearer " + testToken + "\u3000", http.StatusUnauthorized},
	} {
		if resp := srv.do(t, srv.request(t, http.MethodGet, sessionsPath, tt.header, "")); resp.status != tt.want {
			t.Errorf("Authorization %q: status %d, want %d", tt.header, resp.status, tt.want)
		}
	}
}

// The inspection read is paged: limit and after select a page, next_after
// leads to the next one, also for one session's messages.
func TestDeliveredMessagesPaging(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, server.Config{})
	for i := range 5 {
		srv.send(t, sendBody(t, fmt.Sprint("m", i), "INFO", idConnected, idConnected2))
	}
	page := func(query string) model.DeliveredMessages {
		resp := srv.do(t, srv.request(t, http.MethodGet, messagesPath+query, "Bearer "+testToken, ""))
		if resp.status != http.StatusOK {
			t.Fatalf("GET messages%s: %d %s", query, resp.status, resp.body)
		}
		return decodeStrict[model.DeliveredMessages](t, resp.body)
	}
	var sequences []int64
	after := "0"
	for range 10 {
		p := page("?limit=3&after=" + after)
		for _, m := range p.Messages {
			sequences = append(sequences, m.Sequence)
		}
		if p.NextAfter == nil {
			break
		}
		after = fmt.Sprint(*p.NextAfter)
	}
	if fmt.Sprint(sequences) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Errorf("pages of 3 gave sequences %v", sequences)
	}
	p := page("?session_id=" + idConnected2 + "&limit=2&after=4")
	if len(p.Messages) != 2 || p.Messages[0].Sequence != 6 || p.Messages[1].Sequence != 8 || p.NextAfter == nil || *p.NextAfter != 8 {
		t.Errorf("one session's page after 4: %+v", p)
	}
	if p := page(""); len(p.Messages) != 10 || p.NextAfter != nil {
		t.Errorf("default page: %d messages, next_after %v", len(p.Messages), p.NextAfter)
	}
	for _, query := range []string{"?limit=0", "?limit=1001", "?after=-1"} {
		resp := srv.do(t, srv.request(t, http.MethodGet, messagesPath+query, "Bearer "+testToken, ""))
		if resp.status != http.StatusBadRequest {
			t.Errorf("GET messages%s: status %d, want 400", query, resp.status)
		}
	}
}

// The record is capped in bytes as well as in count: the oldest go first,
// and evicted counts them.
func TestRecordCappedInBytes(t *testing.T) {
	t.Parallel()
	delivery := func(message string) model.DeliveredMessage {
		return model.DeliveredMessage{SessionID: "s", Message: message, MessageType: "INFO"}
	}
	one := server.NewMemoryStoreWithCaps(nil, 100, 0)
	one.Record([]model.DeliveredMessage{delivery(repeat("x", 1000))})
	cost := one.RecordedBytes()
	store := server.NewMemoryStoreWithCaps(nil, 100, 3*cost)
	for range 5 {
		store.Record([]model.DeliveredMessage{delivery(repeat("x", 1000))})
	}
	got := allDelivered(store, "")
	if len(got.Messages) != 3 || got.Evicted != 2 || got.Messages[0].Sequence != 3 {
		t.Errorf("kept %d (first %d), evicted %d; want 3 from sequence 3, 2 evicted", len(got.Messages), got.Messages[0].Sequence, got.Evicted)
	}
	if store.RecordedBytes() > 3*cost {
		t.Errorf("record holds %d bytes, over its cap of %d", store.RecordedBytes(), 3*cost)
	}
	// One delivery larger than the cap is kept alone.
	store.Record([]model.DeliveredMessage{delivery(repeat("y", 10000))})
	if got := allDelivered(store, ""); len(got.Messages) != 1 || got.Evicted != 5 {
		t.Errorf("after a large one: kept %d, evicted %d; want 1 and 5", len(got.Messages), got.Evicted)
	}
}

// The record's ring grows while it wraps (evictions by bytes move its start)
// and keeps the newest deliveries in order.
func TestRecordGrowsWhileWrapped(t *testing.T) {
	t.Parallel()
	one := server.NewMemoryStoreWithCaps(nil, 10000, 0)
	one.Record([]model.DeliveredMessage{{SessionID: "s", Message: "m", MessageType: "INFO"}})
	cost := one.RecordedBytes()
	store := server.NewMemoryStoreWithCaps(nil, 10000, 50*cost)
	var sent int64
	for _, batch := range []int{30, 30, 7, 100, 3, 49, 200, 1} {
		deliveries := make([]model.DeliveredMessage, batch)
		for i := range deliveries {
			deliveries[i] = model.DeliveredMessage{SessionID: "s", Message: "m", MessageType: "INFO"}
		}
		store.Record(deliveries)
		sent += int64(batch)
		got := allDelivered(store, "")
		want := min(sent, 50)
		if int64(len(got.Messages)) != want || got.Evicted != sent-want {
			t.Fatalf("after %d: kept %d, evicted %d; want %d and %d", sent, len(got.Messages), got.Evicted, want, sent-want)
		}
		for i, m := range got.Messages {
			if m.Sequence != sent-want+1+int64(i) {
				t.Fatalf("after %d: message %d has sequence %d, want %d", sent, i, m.Sequence, sent-want+1+int64(i))
			}
		}
	}
}

// The record agrees with a plain list cut to its caps, whatever the batches.
func TestRecordAgreesWithAList(t *testing.T) {
	t.Parallel()
	one := server.NewMemoryStoreWithCaps(nil, 10, 0)
	one.Record([]model.DeliveredMessage{{SessionID: "s", Message: "m", MessageType: "INFO"}})
	unit := one.RecordedBytes() // a delivery with a one-byte message
	for _, caps := range []struct {
		count int
		bytes int64
	}{{7, 0}, {64, 0}, {100, 40 * unit}, {5, 3 * unit}} {
		store := server.NewMemoryStoreWithCaps(nil, caps.count, caps.bytes)
		var list []model.DeliveredMessage
		var seq int64
		for round := range 300 {
			batch := make([]model.DeliveredMessage, (round*7919)%23)
			for i := range batch {
				// Messages of 1 to 3 bytes: costs differ.
				batch[i] = model.DeliveredMessage{SessionID: "s", Message: repeat("m", 1+(round+i)%3), MessageType: "INFO"}
			}
			store.Record(batch)
			for _, d := range batch {
				seq++
				d.Sequence = seq
				list = append(list, d)
			}
			// The model: drop the oldest past the count, then past the bytes.
			for len(list) > caps.count {
				list = list[1:]
			}
			for caps.bytes > 0 && len(list) > 1 {
				var total int64
				for _, d := range list {
					total += unit - 1 + int64(len(d.Message))
				}
				if total <= caps.bytes {
					break
				}
				list = list[1:]
			}
			got := allDelivered(store, "")
			if len(got.Messages) != len(list) || got.Evicted != seq-int64(len(list)) {
				t.Fatalf("caps %+v, round %d: kept %d, evicted %d; want %d and %d", caps, round, len(got.Messages), got.Evicted, len(list), seq-int64(len(list)))
			}
			for i := range list {
				if got.Messages[i].Sequence != list[i].Sequence || got.Messages[i].Message != list[i].Message {
					t.Fatalf("caps %+v, round %d: message %d is %d %q, want %d %q", caps, round, i,
						got.Messages[i].Sequence, got.Messages[i].Message, list[i].Sequence, list[i].Message)
				}
			}
		}
	}
}
