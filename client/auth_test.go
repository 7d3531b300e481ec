package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/fakeclock"
)

var creds = client.Credentials{Username: "administrator", Password: "Pa55-c1ient-test", Domain: "EXAMPLE"}

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)) }

// horizon is a stand-in Connection Server for login, refresh, logout,
// session listing and send-message. It records the calls it gets.
type horizon struct {
	URL string

	mu        sync.Mutex
	lifetime  time.Duration // of access tokens; 0 issues opaque tokens
	now       func() time.Time
	valid     map[string]bool // access tokens accepted
	refresh   map[string]bool // refresh tokens accepted
	refuseAll bool            // refuse every access token
	// refused is the status of refresh and logout for a refresh token that
	// does not work: Horizon 8.0.0's 400 unless a test says otherwise.
	refused  int
	calls    []string
	logins   []map[string]any
	sessions []model.SessionInfo
	issued   int
}

func startHorizon(t *testing.T, lifetime time.Duration, now func() time.Time) *horizon {
	t.Helper()
	h := &horizon{lifetime: lifetime, now: now, valid: map[string]bool{}, refresh: map[string]bool{}, refused: http.StatusBadRequest}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rest/login", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.record("login", r)
		h.logins = append(h.logins, body)
		if body["username"] != creds.Username || body["password"] != creds.Password || body["domain"] != creds.Domain {
			writeJSON(w, http.StatusUnauthorized, model.ErrorResponse{ErrorMessage: "invalid user name, domain or password"})
			return
		}
		refresh := h.token("refresh")
		h.refresh[refresh] = true
		writeJSON(w, http.StatusOK, model.AuthTokens{AccessToken: h.access(), RefreshToken: refresh})
	})
	mux.HandleFunc("POST /rest/refresh", func(w http.ResponseWriter, r *http.Request) {
		var body model.RefreshToken
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.record("refresh", r)
		if !h.refresh[body.RefreshToken] {
			writeJSON(w, h.refused, model.ErrorResponse{ErrorMessage: "refresh token has expired"})
			return
		}
		writeJSON(w, http.StatusOK, model.AccessToken{AccessToken: h.access()})
	})
	mux.HandleFunc("POST /rest/logout", func(w http.ResponseWriter, r *http.Request) {
		var body model.RefreshToken
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.record("logout", r)
		if !h.refresh[body.RefreshToken] {
			writeJSON(w, h.refused, model.ErrorResponse{ErrorMessage: "refresh token has expired"})
			return
		}
		delete(h.refresh, body.RefreshToken)
		h.valid = map[string]bool{}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /rest/inventory/v1/sessions", func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(w, r, "sessions?"+r.URL.Query().Encode()) {
			return
		}
		h.mu.Lock()
		all := h.sessions
		h.mu.Unlock()
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		start, end := min((page-1)*size, len(all)), min(page*size, len(all))
		if end < len(all) {
			w.Header()["HAS_MORE_RECORDS"] = []string{"TRUE"}
		}
		writeJSON(w, http.StatusOK, all[start:end])
	})
	mux.HandleFunc("GET /rest/inventory/v1/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(w, r, "session "+r.PathValue("id")) {
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, s := range h.sessions {
			if s.ID == r.PathValue("id") {
				writeJSON(w, http.StatusOK, s)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, model.ErrorResponse{ErrorMessage: "Session does not exist."})
	})
	mux.HandleFunc("POST /rest/inventory/v1/sessions/action/send-message", func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(w, r, "send") {
			return
		}
		writeJSON(w, http.StatusOK, []model.BulkItemResponseInfo{})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// record notes a call; h.mu must be held.
func (h *horizon) record(call string, r *http.Request) {
	if r.Header.Get("Authorization") != "" && (call == "login" || call == "refresh" || call == "logout") {
		call += " (with a bearer token!)"
	}
	h.calls = append(h.calls, call)
}

func (h *horizon) authorized(w http.ResponseWriter, r *http.Request, call string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ok := h.valid[token] && !h.refuseAll
	if !ok {
		call += " (401)"
	}
	h.calls = append(h.calls, call)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, model.ErrorResponse{ErrorMessage: "invalid bearer token"})
	}
	return ok
}

// access issues an access token; h.mu must be held.
func (h *horizon) access() string {
	token := h.token("access")
	h.valid[token] = true
	return token
}

// token makes a JWT with iat and exp when h.lifetime is set, else an opaque
// token; h.mu must be held.
func (h *horizon) token(use string) string {
	h.issued++
	if h.lifetime == 0 {
		return fmt.Sprintf("opaque-%s-%d", use, h.issued)
	}
	now := h.now()
	claims := fmt.Sprintf(`{"jti":"%d","token_use":%q,"iat":%d,"exp":%d}`, h.issued, use, now.Unix(), now.Add(h.lifetime).Unix())
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func (h *horizon) takeCalls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	calls := h.calls
	h.calls = nil
	return calls
}

func TestLoginSendsHorizonsLoginRequest(t *testing.T) {
	t.Parallel()
	h := startHorizon(t, 0, time.Now)
	c, err := client.Login(context.Background(), h.URL, creds)
	if err != nil {
		t.Fatal(err)
	}
	// A generated client of the 8.0.0 spec would send the password as an
	// array; this one sends the plain string that every server accepts.
	want := []map[string]any{{"username": creds.Username, "password": creds.Password, "domain": creds.Domain}}
	if diff := cmp.Diff(want, h.logins); diff != "" {
		t.Errorf("login bodies (-want +got):\n%s", diff)
	}
	if _, err := c.SendMessage(context.Background(), client.MessageInfo, "m", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"login", "send"}, h.takeCalls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestLoginRefused(t *testing.T) {
	t.Parallel()
	h := startHorizon(t, 0, time.Now)
	wrong := creds
	wrong.Password = "wrong-Passw0rd"
	c, err := client.Login(context.Background(), h.URL, wrong)
	var apiErr *client.APIError
	if c != nil || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Login = %v, %v; want an *APIError with 401", c, err)
	}
	if !strings.Contains(err.Error(), `EXAMPLE\administrator`) || strings.Contains(err.Error(), wrong.Password) {
		t.Errorf("error %q: want it to name the user, never the password", err)
	}
}

func TestLoginRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		creds client.Credentials
		opts  []client.Option
		want  string
	}{
		{"no user name", client.Credentials{Password: "p", Domain: "D"}, nil, "all required"},
		{"no password", client.Credentials{Username: "u", Domain: "D"}, nil, "all required"},
		{"no domain", client.Credentials{Username: "u", Password: "p"}, nil, "all required"},
		{"with a static token", creds, []client.Option{client.WithToken("t")}, "WithToken"},
		{"zero refresh interval", creds, []client.Option{client.WithRefreshInterval(0)}, "not positive"},
		{"nil clock", creds, []client.Option{client.WithClock(nil)}, "nil clock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client.Login(context.Background(), "http://127.0.0.1:1", tt.creds, tt.opts...)
			if !errors.Is(err, client.ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidInput mentioning %q", err, tt.want)
			}
		})
	}
}

func TestCredentialsNeverShowThePassword(t *testing.T) {
	t.Parallel()
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("login", "creds", creds)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("login", "creds", creds)
	shown := map[string]string{
		"%v":        fmt.Sprintf("%v", creds),
		"%+v":       fmt.Sprintf("%+v", creds),
		"%#v":       fmt.Sprintf("%#v", creds),
		"String":    creds.String(),
		"slog text": text.String(),
		"slog json": js.String(),
	}
	for how, s := range shown {
		if strings.Contains(s, creds.Password) {
			t.Errorf("%s shows the password: %s", how, s)
		}
		if !strings.Contains(s, "administrator") {
			t.Errorf("%s does not show the user: %s", how, s)
		}
	}
}

func TestAccessTokenIsRefreshedBeforeItExpires(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		lifetime time.Duration // of the stand-in's tokens; 0 for opaque ones
		opts     []client.Option
		early    time.Duration // still no refresh
		due      time.Duration // refreshed
	}{
		{"JWT of 30 minutes: four fifths", 30 * time.Minute, nil, 24*time.Minute - time.Second, 24 * time.Minute},
		{"JWT of 10 minutes", 10 * time.Minute, nil, 8*time.Minute - time.Second, 8 * time.Minute},
		{"opaque token: default interval", 0, nil, client.DefaultRefreshInterval - time.Second, client.DefaultRefreshInterval},
		{"opaque token: given interval", 0, []client.Option{client.WithRefreshInterval(5 * time.Minute)}, 5*time.Minute - time.Second, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			h := startHorizon(t, tt.lifetime, clk.Now)
			c, err := client.Login(context.Background(), h.URL, creds, append([]client.Option{client.WithClock(clk.Now)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			send := func() {
				t.Helper()
				if _, err := c.SendMessage(context.Background(), client.MessageInfo, "m", []string{"a"}); err != nil {
					t.Fatal(err)
				}
			}
			clk.Advance(tt.early)
			send()
			clk.Advance(tt.due - tt.early)
			send()
			send()
			if diff := cmp.Diff([]string{"login", "send", "refresh", "send", "send"}, h.takeCalls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// A refresh token that no longer works gets 400 from Horizon 8.0.0 (401 from
// some other servers): either way the client logs in again and goes on. Any
// other failure of the refresh fails the call.
func TestRefusedRefreshLogsInAgain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status  int
		want    []string
		wantErr bool
	}{
		{http.StatusBadRequest, []string{"login", "refresh", "login", "send"}, false},
		{http.StatusUnauthorized, []string{"login", "refresh", "login", "send"}, false},
		{http.StatusInternalServerError, []string{"login", "refresh"}, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			h := startHorizon(t, 0, clk.Now)
			c, err := client.Login(context.Background(), h.URL, creds, client.WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			h.mu.Lock()
			h.refresh, h.refused = map[string]bool{}, tt.status // the login has ended on the server
			h.mu.Unlock()
			clk.Advance(client.DefaultRefreshInterval)
			_, err = c.SendMessage(context.Background(), client.MessageInfo, "m", []string{"a"})
			var apiErr *client.APIError
			if tt.wantErr && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.status) {
				t.Errorf("err = %v, want an APIError with %d", err, tt.status)
			} else if !tt.wantErr && err != nil {
				t.Errorf("err = %v", err)
			}
			if diff := cmp.Diff(tt.want, h.takeCalls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLogsInAgainOnceOn401(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		refuseAll bool
		want      []string
		wantErr   bool
	}{
		{"token revoked: a new login helps", false, []string{"send (401)", "login", "send"}, false},
		{"every token refused: one new login, then the 401", true, []string{"send (401)", "login", "send (401)"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startHorizon(t, 0, time.Now)
			c, err := client.Login(context.Background(), h.URL, creds)
			if err != nil {
				t.Fatal(err)
			}
			h.takeCalls()
			h.mu.Lock()
			h.valid, h.refuseAll = map[string]bool{}, tt.refuseAll
			h.mu.Unlock()
			_, err = c.SendMessage(context.Background(), client.MessageInfo, "m", []string{"a"})
			var apiErr *client.APIError
			if gotErr := errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized; gotErr != tt.wantErr || (!tt.wantErr && err != nil) {
				t.Errorf("err = %v, want a 401 APIError: %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, h.takeCalls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCloseLogsOut(t *testing.T) {
	t.Parallel()
	h := startHorizon(t, 0, time.Now)
	c, err := client.Login(context.Background(), h.URL, creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = c.SendMessage(context.Background(), client.MessageInfo, "m", []string{"a"})
	if !errors.Is(err, client.ErrClosed) {
		t.Errorf("SendMessage after Close = %v, want ErrClosed", err)
	}
	if _, err := c.ListSessions(context.Background(), client.Filter{}); !errors.Is(err, client.ErrClosed) {
		t.Errorf("ListSessions after Close = %v, want ErrClosed", err)
	}
	if diff := cmp.Diff([]string{"login", "logout"}, h.takeCalls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// Logging out of a login that the server has already ended leaves nothing
// to end: Horizon 8.0.0 answers 400 (some servers 401), and Close succeeds.
// Another failure is Close's error.
func TestCloseAfterTheLoginEndedSucceeds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status  int
		wantErr bool
	}{
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusInternalServerError, true},
	} {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			h := startHorizon(t, 0, time.Now)
			c, err := client.Login(context.Background(), h.URL, creds)
			if err != nil {
				t.Fatal(err)
			}
			h.mu.Lock()
			h.refresh, h.refused = map[string]bool{}, tt.status
			h.mu.Unlock()
			err = c.Close(context.Background())
			var apiErr *client.APIError
			if tt.wantErr != (err != nil) || (tt.wantErr && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.status)) {
				t.Errorf("Close after the server ended the login, answering %d: %v", tt.status, err)
			}
			if diff := cmp.Diff([]string{"login", "logout"}, h.takeCalls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCloseInTokenModeDoesNothing(t *testing.T) {
	t.Parallel()
	h := startHorizon(t, 0, time.Now)
	c, err := client.New(h.URL, client.WithToken("static"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if calls := h.takeCalls(); len(calls) != 0 {
		t.Errorf("calls = %v, want none", calls)
	}
}

// A cancelled context stops a due refresh, and the call with it.
func TestCancelledContextStopsTheRefresh(t *testing.T) {
	t.Parallel()
	clk := newClock()
	h := startHorizon(t, 0, clk.Now)
	c, err := client.Login(context.Background(), h.URL, creds, client.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	clk.Advance(client.DefaultRefreshInterval)
	if _, err := c.SendMessage(ctx, client.MessageInfo, "m", []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// Calls at the same time share one refresh, and one new login after a 401.
func TestConcurrentCallsShareOneRefreshAndOneLogin(t *testing.T) {
	t.Parallel()
	const callers = 8
	clk := newClock()
	h := startHorizon(t, 0, clk.Now)
	c, err := client.Login(context.Background(), h.URL, creds, client.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	sendAll := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for range callers {
			wg.Go(func() {
				_, err := c.SendMessage(context.Background(), client.MessageInfo, "m", []string{"a"})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	}
	count := func(calls []string, name string) int {
		n := 0
		for _, c := range calls {
			if c == name {
				n++
			}
		}
		return n
	}

	h.takeCalls()
	clk.Advance(client.DefaultRefreshInterval)
	sendAll()
	if calls := h.takeCalls(); count(calls, "refresh") != 1 || count(calls, "send") != callers {
		t.Errorf("calls after the refresh was due: %v, want one refresh and %d sends", calls, callers)
	}

	h.mu.Lock()
	h.valid = map[string]bool{} // the server forgets the access token
	h.mu.Unlock()
	sendAll()
	if calls := h.takeCalls(); count(calls, "login") != 1 || count(calls, "send") != callers {
		t.Errorf("calls after the token was revoked: %v, want one login and %d sends", calls, callers)
	}
}
