package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRunLogsNoSecrets captures everything a full run writes, at DEBUG, while
// clients send the right token, wrong ones (also in a query string and in a
// header too large to read) and message text, and searches it: no token and
// no message reaches the log; a generated token is on stdout only, once.
func TestRunLogsNoSecrets(t *testing.T) {
	t.Parallel()
	const (
		givenToken  = "given-secret-4c1f9a7e"
		wrongToken  = "wrong-secret-8d2b6c0f"
		queryToken  = "query-secret-1a9e3d5b"
		bodyMarker  = "message-text-6f0c2e84"
		headerToken = "header-secret-3b7d9f1a"
	)
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"token from flag, text logs", []string{"-token", givenToken}, nil},
		{"token from environment, JSON logs", []string{"-log-format", "json"}, map[string]string{"REFSERVER_TOKEN": givenToken}},
		{"generated token", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-addr", "127.0.0.1:0", "-log-level", "DEBUG", "-max-header-bytes", "4096"}, tt.args...)
			r := startRun(t, args, tt.env)
			token := givenToken
			if tt.args == nil && tt.env == nil {
				out := r.stdout.waitFor(t, "token line", func(s string) bool { return strings.Count(s, "\n") >= 3 }, r)
				_, rest, ok := strings.Cut(out, tokenLine)
				if !ok {
					t.Fatalf("no generated token on stdout:\n%s", out)
				}
				token, _, _ = strings.Cut(rest, "\n")
			}
			client := newClient(t)
			body := `{"message":"` + bodyMarker + `","message_type":"INFO","session_ids":["` + seedID + `"]}`

			status, got := post(t, client, r.base, token, body)
			wantDelivered(t, status, got, seedID)
			if status, _ := post(t, client, r.base, wrongToken, body); status != http.StatusUnauthorized {
				t.Errorf("wrong token: status %d, want 401", status)
			}
			for _, authorization := range []string{"Bearer " + token, "bearer " + queryToken, ""} {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
					r.base+messagesSuffix+"?session_id="+seedID+"&access_token="+url.QueryEscape(queryToken), http.NoBody)
				if err != nil {
					t.Fatal(err)
				}
				if authorization != "" {
					req.Header.Set("Authorization", authorization)
				}
				roundTrip(t, client, req)
			}
			// A header section too large to read, carrying a token.
			conn := dialRaw(t, r.addr)
			huge := "GET /rest" + messagesSuffix + " HTTP/1.1\r\nHost: " + r.addr + "\r\nAuthorization: Bearer " + headerToken +
				strings.Repeat("x", 16<<10) + "\r\n\r\n"
			if _, err := io.WriteString(conn, huge); err != nil {
				t.Fatal(err)
			}
			if a := parseAnswer(t, specRequest(t, http.MethodGet, r.base+messagesSuffix), readToEnd(t, conn)); a.status != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("huge header: status %d, want 431", a.status)
			}
			if err := r.stop(t); err != nil {
				t.Errorf("run = %v", err)
			}

			logs, out := r.stderr.String(), r.stdout.String()
			if !strings.Contains(logs, "status=401") && !strings.Contains(logs, `"status":401`) {
				t.Errorf("the log does not show the refused requests; is it captured?\n%s", logs)
			}
			for _, secret := range []string{token, givenToken, wrongToken, queryToken, headerToken, bodyMarker} {
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds %q:\n%s", secret, logs)
				}
			}
			for _, secret := range []string{givenToken, wrongToken, queryToken, headerToken, bodyMarker} {
				if strings.Contains(out, secret) {
					t.Errorf("stdout holds %q:\n%s", secret, out)
				}
			}
			if token != givenToken && strings.Count(out, token) != 1 {
				t.Errorf("stdout shows the generated token %d times, want once:\n%s", strings.Count(out, token), out)
			}
		})
	}
}
